"""The lifecycle callbacks with genuine signed tokens: what is stored, replaced, kept, ignored."""

import json
import logging
import time
import uuid

import pytest
from django.core.cache import cache
from django.db import connection

from connect.models import Installation
from connect.signals import installation_installed, installation_uninstalled

from .conftest import KID
from .support import SITE_A, install_token, lifecycle_body, make_installation, server_token

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.connect.urls")]

SECRET_1 = "first-secret-" + "1" * 64
SECRET_2 = "second-secret-" + "2" * 64
ECHO = "/connect-test/echo"


def post(client, event, body, token):
    return client.post(
        f"/connect/{event}",
        json.dumps(body),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"JWT {token}",
    )


def install(client, rsa_key, secret=SECRET_1, client_key="site-a", **body_fields):
    claims = {"jti": uuid.uuid4().hex, **body_fields.pop("claims", {})}
    token = install_token(rsa_key, KID, iss=client_key, **claims)
    return post(
        client, "installed", lifecycle_body(client_key, secret=secret, **body_fields), token
    )


def lifecycle(client, rsa_key, event, client_key="site-a", **claims):
    token = install_token(rsa_key, KID, iss=client_key, event=event, jti=uuid.uuid4().hex, **claims)
    return post(client, event, lifecycle_body(client_key, event=event), token)


def call_action(client, secret, client_key="site-a"):
    token = server_token(secret, iss=client_key, path=ECHO)
    return client.get(f"{ECHO}?searchQuery=db", HTTP_AUTHORIZATION=f"JWT {token}")


@pytest.fixture
def received():
    events: list[tuple] = []

    def on_installed(sender, installation, reinstall, **kwargs):
        events.append(("installed", installation.client_key, reinstall))

    def on_uninstalled(sender, installation, **kwargs):
        events.append(("uninstalled", installation.client_key))

    installation_installed.connect(on_installed)
    installation_uninstalled.connect(on_uninstalled)
    yield events
    installation_installed.disconnect(on_installed)
    installation_uninstalled.disconnect(on_uninstalled)


def test_signed_install_stores_the_site(client, rsa_key, key_server):
    response = install(
        client, rsa_key, cloudId="cloud-1", installationId="ari:cloud:ecosystem::installation/1"
    )
    assert response.status_code == 204
    site = Installation.objects.get(client_key="site-a")
    assert site.base_url == SITE_A
    assert site.display_url == SITE_A
    assert site.app_key == "io.github.jira-ops-portal"
    assert site.product_type == "jira"
    assert site.server_version == "100279"
    assert site.cloud_id == "cloud-1"
    assert site.installation_id == "ari:cloud:ecosystem::installation/1"
    assert site.shared_secret == SECRET_1
    assert site.is_active
    assert site.last_lifecycle_iat > 0


def test_secret_is_encrypted_at_rest(client, rsa_key, key_server):
    install(client, rsa_key)
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM connect_installation")
        row = cursor.fetchone()
    assert not any(SECRET_1 in str(value) for value in row)


def test_install_sends_the_installed_signal(client, rsa_key, key_server, received):
    install(client, rsa_key)
    install(client, rsa_key, SECRET_2)
    assert received == [("installed", "site-a", False), ("installed", "site-a", True)]


def test_reinstall_replaces_the_secret(client, rsa_key, key_server):
    install(client, rsa_key, SECRET_1)
    assert call_action(client, SECRET_1).status_code == 200
    assert install(client, rsa_key, SECRET_2).status_code == 204
    assert call_action(client, SECRET_2).status_code == 200
    refused = call_action(client, SECRET_1)
    assert refused.status_code == 401
    assert refused.json()["error"] == "invalid_signature"


def test_reinstall_follows_a_site_rename(client, rsa_key, key_server):
    install(client, rsa_key)
    install(client, rsa_key, base_url="https://renamed.atlassian.net")
    assert Installation.objects.get(client_key="site-a").base_url == "https://renamed.atlassian.net"
    assert Installation.objects.count() == 1


def test_uninstall_keeps_the_row_and_wipes_the_secret(client, rsa_key, key_server, received):
    install(client, rsa_key)
    assert lifecycle(client, rsa_key, "uninstalled").status_code == 204
    site = Installation.objects.get(client_key="site-a")
    assert site.state == Installation.State.UNINSTALLED
    assert site.uninstalled_at is not None
    assert site.shared_secret_encrypted == ""
    assert received[-1] == ("uninstalled", "site-a")
    assert call_action(client, SECRET_1).json()["error"] == "inactive_installation"


def test_reinstall_after_uninstall_reactivates(client, rsa_key, key_server):
    install(client, rsa_key)
    lifecycle(client, rsa_key, "uninstalled")
    install(client, rsa_key, SECRET_2, claims={"iat": int(time.time()) + 1})
    site = Installation.objects.get(client_key="site-a")
    assert site.is_active and site.uninstalled_at is None
    assert site.shared_secret == SECRET_2


def test_uninstall_of_an_unknown_site_is_accepted_and_stores_nothing(client, rsa_key, key_server):
    assert lifecycle(client, rsa_key, "uninstalled", client_key="never-seen").status_code == 204
    assert not Installation.objects.exists()


def test_an_older_event_is_ignored(client, rsa_key, key_server):
    install(client, rsa_key)
    late = lifecycle(client, rsa_key, "uninstalled", iat=int(time.time()) - 100)
    assert late.status_code == 204
    assert Installation.objects.get(client_key="site-a").is_active


def test_a_replayed_token_is_refused_even_with_another_body(client, rsa_key, key_server):
    token = install_token(rsa_key, KID, iss="site-a")
    assert (
        post(client, "installed", lifecycle_body("site-a", secret=SECRET_1), token).status_code
        == 204
    )
    replay = post(client, "installed", lifecycle_body("site-a", secret=SECRET_2), token)
    assert replay.status_code == 401
    assert replay.json()["error"] == "token_replayed"
    assert Installation.objects.get(client_key="site-a").shared_secret == SECRET_1


def test_a_replay_reaching_another_web_process_is_refused(client, rsa_key, key_server):
    token = install_token(rsa_key, KID, iss="site-a")
    first = post(client, "installed", lifecycle_body("site-a", secret=SECRET_1), token)
    assert first.status_code == 204
    cache.clear()  # another process has its own in-memory cache: the record must not live there
    replay = post(client, "installed", lifecycle_body("site-a", secret=SECRET_2), token)
    assert replay.status_code == 401
    assert replay.json()["error"] == "token_replayed"
    assert Installation.objects.get(client_key="site-a").shared_secret == SECRET_1


def test_http_site_is_accepted_only_on_an_explicitly_listed_host(
    client, rsa_key, key_server, settings
):
    settings.CONNECT_ALLOWED_SITE_HOSTS = ["*.atlassian.net", "127.0.0.1"]
    response = install(client, rsa_key, base_url="http://127.0.0.1:8081")
    assert response.status_code == 204
    assert Installation.objects.get().base_url == "http://127.0.0.1:8081"


def test_connect_on_forge_site_is_active_without_enabled(client, rsa_key, key_server):
    install(client, rsa_key, installationId="ari:cloud:ecosystem::installation/abc")
    assert call_action(client, SECRET_1).status_code == 200


def test_signed_disable_and_enable_toggle_the_site(client, rsa_key, key_server):
    install(client, rsa_key)
    assert lifecycle(client, rsa_key, "disabled").status_code == 204
    assert not Installation.objects.get().enabled
    assert call_action(client, SECRET_1).json()["error"] == "inactive_installation"
    assert lifecycle(client, rsa_key, "enabled").status_code == 204
    assert Installation.objects.get().enabled


def test_hs256_disable_signed_with_the_stored_secret_is_accepted(client):
    make_installation("site-a", SECRET_1)
    token = server_token(SECRET_1, iss="site-a", method="POST", path="/connect/disabled", query="")
    response = post(client, "disabled", lifecycle_body("site-a", event="disabled"), token)
    assert response.status_code == 204
    assert not Installation.objects.get().enabled


def test_hs256_disable_signed_with_another_secret_is_refused(client):
    make_installation("site-a", SECRET_1)
    token = server_token(SECRET_2, iss="site-a", method="POST", path="/connect/disabled", query="")
    response = post(client, "disabled", lifecycle_body("site-a", event="disabled"), token)
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_signature"
    assert Installation.objects.get().enabled


def test_enable_of_an_unknown_site_changes_nothing(client, rsa_key, key_server):
    assert lifecycle(client, rsa_key, "enabled", client_key="never-seen").status_code == 204
    assert not Installation.objects.exists()


def test_get_on_a_callback_is_a_json_405(client):
    response = client.get("/connect/installed")
    assert response.status_code == 405
    assert response.json()["error"] == "method_not_allowed"


def test_a_field_too_long_for_the_database_is_refused(client, rsa_key, key_server):
    response = install(client, rsa_key, description="x" * 1001)
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_field"
    assert not Installation.objects.exists()


def test_numeric_versions_are_stored_as_text(client, rsa_key, key_server):
    install(client, rsa_key, serverVersion=100279)
    assert Installation.objects.get().server_version == "100279"


def test_secret_and_tokens_never_reach_the_logs(client, rsa_key, key_server, caplog):
    caplog.set_level(logging.DEBUG)
    token = install_token(rsa_key, KID, iss="site-a")
    post(client, "installed", lifecycle_body("site-a", secret=SECRET_1), token)
    post(client, "installed", lifecycle_body("site-a", secret=SECRET_2), token)
    assert "site-a" in caplog.text
    for secret in (SECRET_1, SECRET_2, token):
        assert secret not in caplog.text


def test_a_failing_receiver_rolls_the_install_back(client, rsa_key, key_server):
    def explode(**kwargs):
        raise RuntimeError("receiver failed")

    installation_installed.connect(explode)
    try:
        with pytest.raises(RuntimeError):
            install(client, rsa_key)
    finally:
        installation_installed.disconnect(explode)
    assert not Installation.objects.exists()
    assert install(client, rsa_key).status_code == 204
