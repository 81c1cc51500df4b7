"""Replayed lifecycle callbacks, as someone who captured one genuine signed callback (from a log
or a proxy) would send them again: the same token, or the same signature spelled differently,
with a body of their own. The replay record keys on what was signed, not on the token's text."""

import json
import time
import uuid

import jwt as pyjwt
import pytest

from connect import errors
from connect import jwt as connect_jwt
from connect.models import Installation, UsedLifecycleToken

from .conftest import KID
from .support import (
    SITE_A,
    flip_stray_bits,
    install_token,
    lifecycle_body,
    make_installation,
    respell,
    server_token,
)

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.connect.urls")]

GENUINE_SECRET = "genuine-secret-" + "g" * 64
ATTACKER_SECRET = "attacker-secret-" + "e" * 64


def post(client, event, body, token):
    return client.post(
        f"/connect/{event}",
        json.dumps(body),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"JWT {token}",
    )


def test_respelled_signature_still_verifies_for_a_lenient_decoder(rsa_key):
    """The attack's premise: PyJWT alone accepts the padded token as the same signature."""
    token = install_token(rsa_key, KID, iss="site-a")
    other = respell(token)
    assert other != token
    claims = pyjwt.decode(
        other, rsa_key.public_key(), algorithms=["RS256"], options={"verify_aud": False}
    )
    assert claims["iss"] == "site-a"


def test_captured_install_respelled_with_the_attackers_body_is_refused(client, rsa_key, key_server):
    token = install_token(rsa_key, KID, iss="site-a")
    genuine = post(client, "installed", lifecycle_body("site-a", secret=GENUINE_SECRET), token)
    assert genuine.status_code == 204

    attack = post(
        client,
        "installed",
        lifecycle_body("site-a", secret=ATTACKER_SECRET, base_url="https://attacker.atlassian.net"),
        respell(token),
    )
    assert attack.status_code == 401
    assert attack.json()["error"] == "malformed_token"
    assert "base64url" in attack.json()["detail"]
    site = Installation.objects.get(client_key="site-a")
    assert site.shared_secret == GENUINE_SECRET
    assert site.base_url == SITE_A


def test_respelled_install_is_refused_even_before_the_genuine_one_arrives(
    client, rsa_key, key_server
):
    """Non-canonical base64url is refused outright, not only as a replay."""
    token = install_token(rsa_key, KID, iss="site-a")
    attack = post(
        client, "installed", lifecycle_body("site-a", secret=ATTACKER_SECRET), respell(token)
    )
    assert attack.status_code == 401
    assert attack.json()["error"] == "malformed_token"
    assert not Installation.objects.exists()
    genuine = post(client, "installed", lifecycle_body("site-a", secret=GENUINE_SECRET), token)
    assert genuine.status_code == 204


@pytest.mark.parametrize("event", ["uninstalled", "enabled", "disabled"])
def test_every_signed_lifecycle_event_is_good_for_one_call(client, rsa_key, key_server, event):
    make_installation("site-a", GENUINE_SECRET, base_url=SITE_A)
    token = install_token(rsa_key, KID, iss="site-a", event=event, jti=uuid.uuid4().hex)
    body = lifecycle_body("site-a", event=event)
    assert post(client, event, body, token).status_code == 204
    before = Installation.objects.values().get()
    again = post(client, event, body, token)
    assert (again.status_code, again.json()["error"]) == (401, "token_replayed")
    respelled = post(client, event, body, respell(token))
    assert (respelled.status_code, respelled.json()["error"]) == (401, "malformed_token")
    assert Installation.objects.values().get() == before


def test_hs256_enable_is_good_for_one_call(client):
    make_installation("site-a", GENUINE_SECRET, base_url=SITE_A, enabled=False)
    token = server_token(
        GENUINE_SECRET, iss="site-a", method="POST", path="/connect/enabled", query=""
    )
    body = lifecycle_body("site-a", event="enabled")
    assert post(client, "enabled", body, token).status_code == 204
    Installation.objects.update(enabled=False)
    replay = post(client, "enabled", body, token)
    assert replay.status_code == 401
    assert replay.json()["error"] == "token_replayed"
    assert not Installation.objects.get().enabled


def test_the_replay_record_is_the_digest_of_the_signed_content(client, rsa_key, key_server):
    token = install_token(rsa_key, KID, iss="site-a")
    post(client, "installed", lifecycle_body("site-a", secret=GENUINE_SECRET), token)
    expected = connect_jwt.split_token(token).signed_digest
    assert list(UsedLifecycleToken.objects.values_list("digest", flat=True)) == [expected]


def test_signed_digest_ignores_the_signature_and_covers_header_and_payload(rsa_key):
    token = install_token(rsa_key, KID, iss="site-a", iat=int(time.time()))
    header, payload, _ = token.split(".")
    unsigned = f"{header}.{payload}.AAAA"
    assert connect_jwt.split_token(unsigned).signed_digest == (
        connect_jwt.split_token(token).signed_digest
    )
    later = install_token(rsa_key, KID, iss="site-a", iat=int(time.time()) + 1)
    assert connect_jwt.split_token(later).signed_digest != (
        connect_jwt.split_token(token).signed_digest
    )


@pytest.mark.parametrize(
    ("mangle", "why"),
    [
        (flip_stray_bits, "stray bits in the last character"),
        (lambda t: t.replace(".", "==.", 1), "padding in the header"),
        (lambda t: t.replace("-", "+").replace("_", "/"), "standard base64 alphabet"),
        (lambda t: t + ".extra", "a fourth segment"),
        (lambda t: " " + t, "leading space"),
    ],
)
def test_other_spellings_of_a_genuine_token_are_malformed(rsa_key, mangle, why):
    token = mangle(install_token(rsa_key, KID, iss="site-a"))
    with pytest.raises(errors.MalformedToken):
        connect_jwt.split_token(token)
