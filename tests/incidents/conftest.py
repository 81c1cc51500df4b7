import pytest
from django.contrib.auth.models import Group
from django.db import connection

requires_postgres = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="needs PostgreSQL row locks"
)


@pytest.fixture
def ops_user(django_user_model):
    user = django_user_model.objects.create_user("opsy", password="pw-not-used", is_staff=True)
    user.groups.add(Group.objects.get(name="Ops staff"))
    return user


@pytest.fixture
def ops_client(client, ops_user):
    client.force_login(ops_user)
    return client
