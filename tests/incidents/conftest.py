import pytest
from django.contrib.auth.models import Group
from django.db import connection

requires_postgres = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="needs PostgreSQL row locks"
)


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    """The admin fixtures hash a password; the production hasher is deliberately slow."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def ops_user(django_user_model):
    user = django_user_model.objects.create_user("opsy", password="pw-not-used", is_staff=True)
    user.groups.add(Group.objects.get(name="Ops staff"))
    return user


@pytest.fixture
def ops_client(client, ops_user):
    client.force_login(ops_user)
    return client
