"""A site installed again under a new clientKey: the old row is superseded, keeps no secret, and
its old credentials open nothing; uninstalled sites keep no secret either."""

import json
import time
import uuid

import pytest
from django.urls import reverse

from connect.models import Installation

from .conftest import KID
from .support import install_token, lifecycle_body, server_token

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.connect.urls")]

OLD_SECRET = "old-secret-" + "o" * 64
NEW_SECRET = "new-secret-" + "n" * 64
ECHO = "/connect-test/echo"
SITE = "https://acme.atlassian.net"


def post(client, event, body, token):
    return client.post(
        f"/connect/{event}",
        json.dumps(body),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"JWT {token}",
    )


def install(client, rsa_key, client_key, secret, *, base_url=SITE, cloud_id="cloud-acme", at=0):
    token = install_token(
        rsa_key, KID, iss=client_key, jti=uuid.uuid4().hex, iat=int(time.time()) + at
    )
    body = lifecycle_body(client_key, secret=secret, base_url=base_url, cloudId=cloud_id)
    return post(client, "installed", {k: v for k, v in body.items() if v}, token)


def uninstall(client, rsa_key, client_key):
    token = install_token(rsa_key, KID, iss=client_key, event="uninstalled", jti=uuid.uuid4().hex)
    return post(client, "uninstalled", lifecycle_body(client_key, event="uninstalled"), token)


def call_action(client, secret, client_key):
    token = server_token(secret, iss=client_key, path=ECHO)
    return client.get(f"{ECHO}?searchQuery=db", HTTP_AUTHORIZATION=f"JWT {token}")


def test_reinstall_under_a_new_client_key_supersedes_the_old_row(client, rsa_key, key_server):
    assert install(client, rsa_key, "key-old", OLD_SECRET).status_code == 204
    assert install(client, rsa_key, "key-new", NEW_SECRET, at=1).status_code == 204
    old = Installation.objects.get(client_key="key-old")
    new = Installation.objects.get(client_key="key-new")
    assert old.superseded_by == new
    assert old.superseded_at is not None
    assert old.shared_secret_encrypted == ""
    assert old.state == Installation.State.UNINSTALLED
    assert not old.is_active
    assert new.is_active and new.superseded_by is None
    assert list(new.supersedes.all()) == [old]


def test_old_client_key_and_old_secret_open_nothing_after_a_supersede(client, rsa_key, key_server):
    install(client, rsa_key, "key-old", OLD_SECRET)
    assert call_action(client, OLD_SECRET, "key-old").status_code == 200
    install(client, rsa_key, "key-new", NEW_SECRET, at=1)
    refused = call_action(client, OLD_SECRET, "key-old")
    assert refused.status_code == 401
    assert refused.json()["error"] == "inactive_installation"
    assert call_action(client, NEW_SECRET, "key-new").status_code == 200


def test_uninstall_then_reinstall_under_a_new_key_leaves_one_active_row(
    client, rsa_key, key_server
):
    install(client, rsa_key, "key-old", OLD_SECRET)
    assert uninstall(client, rsa_key, "key-old").status_code == 204
    assert Installation.objects.get(client_key="key-old").shared_secret_encrypted == ""
    install(client, rsa_key, "key-new", NEW_SECRET, at=1)
    assert superseder_of("key-old") == "key-new"
    active = [row.client_key for row in Installation.objects.all() if row.is_active]
    assert active == ["key-new"]


def test_same_base_url_without_cloud_id_supersedes(client, rsa_key, key_server):
    install(client, rsa_key, "key-old", OLD_SECRET, cloud_id=None)
    install(client, rsa_key, "key-new", NEW_SECRET, cloud_id=None, at=1)
    assert superseder_of("key-old") == "key-new"


def test_same_cloud_id_under_a_new_name_supersedes(client, rsa_key, key_server):
    install(client, rsa_key, "key-old", OLD_SECRET)
    install(client, rsa_key, "key-new", NEW_SECRET, base_url="https://renamed.atlassian.net", at=1)
    assert superseder_of("key-old") == "key-new"


def test_another_site_that_took_the_old_name_does_not_supersede(client, rsa_key, key_server):
    """Both rows carry a cloudId and they differ: another site, whatever its URL."""
    install(client, rsa_key, "key-old", OLD_SECRET, cloud_id="cloud-first")
    install(client, rsa_key, "key-new", NEW_SECRET, cloud_id="cloud-second", at=1)
    old = Installation.objects.get(client_key="key-old")
    assert old.superseded_by is None
    assert old.shared_secret == OLD_SECRET
    assert call_action(client, OLD_SECRET, "key-old").status_code == 200


def test_another_site_is_never_superseded(client, rsa_key, key_server):
    install(
        client,
        rsa_key,
        "key-other",
        OLD_SECRET,
        base_url="https://other.atlassian.net",
        cloud_id="cloud-other",
    )
    install(client, rsa_key, "key-new", NEW_SECRET)
    assert Installation.objects.get(client_key="key-other").is_active


def test_the_old_key_installing_again_takes_the_site_back(client, rsa_key, key_server):
    install(client, rsa_key, "key-old", OLD_SECRET)
    install(client, rsa_key, "key-new", NEW_SECRET, at=1)
    install(client, rsa_key, "key-old", OLD_SECRET, at=2)
    old = Installation.objects.get(client_key="key-old")
    new = Installation.objects.get(client_key="key-new")
    assert old.is_active and old.superseded_by is None
    assert new.superseded_by == old and new.shared_secret_encrypted == ""


def test_admin_shows_which_row_supersedes_which(client, rsa_key, key_server, admin_client):
    install(client, rsa_key, "key-old", OLD_SECRET)
    install(client, rsa_key, "key-new", NEW_SECRET, at=1)
    old = Installation.objects.get(client_key="key-old")
    new = Installation.objects.get(client_key="key-new")
    old_page = admin_client.get(reverse("admin:connect_installation_change", args=[old.pk]))
    assert f"{new} (key-new)" in old_page.content.decode()
    new_page = admin_client.get(reverse("admin:connect_installation_change", args=[new.pk]))
    assert f"{old} (key-old)" in new_page.content.decode()
    listing = admin_client.get(reverse("admin:connect_installation_changelist") + "?superseded=yes")
    assert [row.client_key for row in listing.context["cl"].result_list] == ["key-old"]


def superseder_of(client_key: str) -> str | None:
    """The clientKey of the row that superseded this one, if any."""
    superseded_by = Installation.objects.get(client_key=client_key).superseded_by
    return superseded_by.client_key if superseded_by is not None else None
