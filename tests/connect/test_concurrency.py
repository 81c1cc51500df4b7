"""Concurrent installs of one new site end as one row (PostgreSQL row locks and unique index)."""

import json
import threading
import uuid

import pytest
from django.db import connection
from django.test import Client

from connect.models import Installation
from connect.signals import installation_installed

from .conftest import KID
from .support import install_token, lifecycle_body

requires_postgres = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="needs PostgreSQL row locks"
)


@requires_postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_installs_of_a_new_site_make_one_row(rsa_key, key_server):
    secrets = [f"secret-{n}-" + "c" * 64 for n in range(4)]
    flags, statuses = [], []
    barrier = threading.Barrier(len(secrets))

    def on_installed(sender, installation, reinstall, **kwargs):
        flags.append(reinstall)

    def install(secret):
        try:
            token = install_token(rsa_key, KID, iss="site-new", jti=uuid.uuid4().hex)
            body = json.dumps(lifecycle_body("site-new", secret=secret))
            barrier.wait()
            response = Client().post(
                "/connect/installed",
                body,
                content_type="application/json",
                HTTP_AUTHORIZATION=f"JWT {token}",
            )
            statuses.append(response.status_code)
        finally:
            connection.close()

    installation_installed.connect(on_installed)
    try:
        threads = [threading.Thread(target=install, args=(secret,)) for secret in secrets]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
    finally:
        installation_installed.disconnect(on_installed)
    assert statuses == [204] * len(secrets)
    assert Installation.objects.filter(client_key="site-new").count() == 1
    assert Installation.objects.get(client_key="site-new").shared_secret in secrets
    assert sorted(flags) == [False, True, True, True]
