"""Fixtures for the sync in the admin: ops staff logins (tests/incidents) and a running jirasim
with the portal installed (tests/sync)."""

from tests.incidents.conftest import fast_password_hashing, ops_client, ops_user  # noqa: F401
from tests.sync.conftest import sim, site  # noqa: F401
