"""Fixtures every test package shares: ops staff logins, the `postgres` marker's skip, and a
connection kept open across in-process WSGI calls."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.contrib.auth.models import Group
from django.core import signals
from django.db import close_old_connections, connection


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Tests marked `postgres` need PostgreSQL (row locks, several connections): skip them on
    SQLite with the reason, instead of each file repeating the check."""
    if connection.vendor == "postgresql":
        return
    skip = pytest.mark.skip(reason="needs PostgreSQL (set DATABASE_URL)")
    for item in items:
        if item.get_closest_marker("postgres"):
            item.add_marker(skip)


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    """The admin fixtures hash a password; the production hasher is deliberately slow."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def ops_user(django_user_model):
    """A staff user in the Ops staff group (made by a data migration)."""
    user = django_user_model.objects.create_user("opsy", password="pw-not-used", is_staff=True)
    user.groups.add(Group.objects.get(name="Ops staff"))
    return user


@pytest.fixture
def ops_client(client, ops_user):
    client.force_login(ops_user)
    return client


@pytest.fixture
def keep_test_connection() -> Iterator[None]:
    """Django closes "old" connections when a WSGI request ends; that would close the test's
    own transaction on PostgreSQL. Django's test client suspends this the same way."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)
