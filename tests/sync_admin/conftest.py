"""Fixtures for the sync in the admin: a running jirasim with the portal installed (tests/sync);
ops staff logins come from tests/conftest.py."""

from tests.sync.conftest import sim, site  # noqa: F401
