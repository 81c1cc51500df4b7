"""Forged and malformed tokens, on signed installs and on Jira's calls: each is refused with the
right status and a JSON body saying why, and no stored site changes."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass

import jwt as pyjwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from pytest_django import Settings

from connect.models import Installation

from .conftest import KID
from .support import (
    BASE_URL,
    SITE_A,
    KeyServer,
    claims_for,
    flip_stray_bits,
    free_port,
    hand_made_token,
    hs256_with_raw_claims,
    install_token,
    lifecycle_body,
    make_installation,
    public_pem,
    qsh,
    respell,
    server_token,
    signed_with_raw_claims,
    tamper,
)

SECRET_A = "secret-of-site-a-" + "a" * 64
SECRET_B = "secret-of-site-b-" + "b" * 64
ATTACKER_SECRET = "attacker-chosen-secret-" + "e" * 64
ACTION = "/jira/operations/containers/search"
ACTION_QUERY = "searchQuery=db"


@dataclass
class World:
    rsa_key: rsa.RSAPrivateKey
    other_rsa_key: rsa.RSAPrivateKey
    key_server: KeyServer
    settings: Settings


@dataclass(frozen=True)
class Attempt:
    path: str
    authorization: str | None = None
    body: bytes | None = None
    query: str = ""


@dataclass(frozen=True)
class Case:
    name: str
    build: Callable[[World], Attempt]
    status: int
    code: str


def install(token: str | None, body: dict | bytes | None = None, *, scheme: str = "JWT") -> Attempt:
    if body is None:
        body = lifecycle_body("site-a", secret=ATTACKER_SECRET)
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    return Attempt("/connect/installed", f"{scheme} {token}" if token else None, raw)


def signed(w: World, **kwargs) -> str:
    return install_token(
        w.rsa_key, kwargs.pop("kid", KID), iss=kwargs.pop("iss", "site-a"), **kwargs
    )


def call(token: str | None, *, query: str = ACTION_QUERY, scheme: str = "JWT") -> Attempt:
    return Attempt(ACTION, f"{scheme} {token}" if token else None, None, query)


def hs(secret: str = SECRET_A, **kwargs) -> str:
    return server_token(secret, iss=kwargs.pop("iss", "site-a"), **kwargs)


def key_server_down(w: World) -> Attempt:
    w.settings.CONNECT_INSTALL_KEYS_URL = f"http://127.0.0.1:{free_port()}"
    return install(signed(w))


def key_server_answers(status: int, body: bytes, headers: dict | None = None):
    def build(w: World) -> Attempt:
        w.key_server.overrides[KID] = (status, body, headers or {})
        return install(signed(w))

    return build


def pem_as_hmac_secret(w: World) -> Attempt:
    claims = claims_for(iss="site-a", method="POST", path="/connect/installed", aud=BASE_URL)
    header = {"alg": "HS256", "typ": "JWT", "kid": KID}
    return install(hand_made_token(header, claims, hmac_key=public_pem(w.rsa_key)))


def unsigned(alg: str, target: str):
    def build(w: World) -> Attempt:
        if target == "install":
            claims = claims_for(
                iss="site-a", method="POST", path="/connect/installed", aud=BASE_URL
            )
            return install(hand_made_token({"alg": alg, "typ": "JWT", "kid": KID}, claims))
        claims = claims_for(iss="site-a", method="GET", path=ACTION, query=ACTION_QUERY)
        return call(hand_made_token({"alg": alg, "typ": "JWT"}, claims))

    return build


def rs256_on_action(w: World) -> Attempt:
    claims = claims_for(iss="site-a", method="GET", path=ACTION, query=ACTION_QUERY)
    return call(pyjwt.encode(claims, w.rsa_key, algorithm="RS256"))


def exp_infinity(w: World) -> Attempt:
    claims = claims_for(iss="site-a", method="GET", path=ACTION, query=ACTION_QUERY)
    claims["exp"] = float("inf")  # serialised as the non-standard JSON literal Infinity
    return call(hand_made_token({"alg": "HS256", "typ": "JWT"}, claims, hmac_key=SECRET_A.encode()))


def raw_install_claims(w: World, **types: str) -> Attempt:
    """A properly signed install whose payload gives some claims another JSON type, e.g.
    `exp='"9999999999"'` (a string): the claim types are checked after a valid signature."""
    now = int(time.time())
    claims = {
        "iss": '"site-a"',
        "aud": json.dumps(BASE_URL),
        "iat": str(now),
        "exp": str(now + 180),
        "qsh": json.dumps(qsh("POST", "/connect/installed")),
    }
    claims.update(types)
    payload = "{" + ", ".join(f'"{name}": {value}' for name, value in claims.items()) + "}"
    return install(signed_with_raw_claims(w.rsa_key, KID, payload))


def raw_call_claims(**types: str) -> Attempt:
    """A call signed with site A's real secret whose payload gives a claim another JSON type."""
    now = int(time.time())
    claims = {
        "iss": '"site-a"',
        "iat": str(now),
        "exp": str(now + 180),
        "qsh": json.dumps(qsh("GET", ACTION, ACTION_QUERY)),
    }
    claims.update(types)
    payload = "{" + ", ".join(f'"{name}": {value}' for name, value in claims.items()) + "}"
    return call(hs256_with_raw_claims(SECRET_A, payload))


def install_with_site(base_url: str):
    def build(w: World) -> Attempt:
        return install(
            signed(w), lifecycle_body("site-a", secret=ATTACKER_SECRET, base_url=base_url)
        )

    return build


def install_with_raw_body(raw: bytes):
    def build(w: World) -> Attempt:
        return install(signed(w), raw)

    return build


def genuine_body_json(**overrides) -> str:
    return json.dumps(lifecycle_body("site-a", secret=ATTACKER_SECRET, **overrides))


INSTALL_CASES = [
    Case("unsigned install", lambda w: install(None), 401, "missing_token"),
    Case("bearer scheme", lambda w: install(signed(w), scheme="Bearer"), 401, "missing_token"),
    Case("not a jwt", lambda w: install("not.a.jwt"), 401, "malformed_token"),
    Case("oversized token", lambda w: install("a" * 9000), 401, "malformed_token"),
    Case("alg none", unsigned("none", "install"), 401, "algorithm_not_allowed"),
    Case("alg NONE", unsigned("NONE", "install"), 401, "algorithm_not_allowed"),
    Case(
        "HS256 signed with the body's own sharedSecret",
        lambda w: install(hs(ATTACKER_SECRET, method="POST", path="/connect/installed", query="")),
        401,
        "algorithm_not_allowed",
    ),
    Case("public key PEM as HMAC secret", pem_as_hmac_secret, 401, "algorithm_not_allowed"),
    Case(
        "RS256 signed with another private key",
        lambda w: install(install_token(w.other_rsa_key, KID, iss="site-a")),
        401,
        "invalid_signature",
    ),
    Case("unknown kid", lambda w: install(signed(w, kid="no-such-key")), 401, "unknown_kid"),
    Case("no kid", lambda w: install(signed(w, kid=None)), 401, "invalid_kid"),
    Case("kid with path traversal", lambda w: install(signed(w, kid="../x")), 401, "invalid_kid"),
    Case("kid of dots", lambda w: install(signed(w, kid="..")), 401, "invalid_kid"),
    Case("kid as a URL", lambda w: install(signed(w, kid="http://evil/k")), 401, "invalid_kid"),
    Case("key server down", key_server_down, 503, "key_server_unavailable"),
    Case("key server error", key_server_answers(500, b"oops"), 503, "key_server_unavailable"),
    Case("key server garbage", key_server_answers(200, b"hello"), 401, "invalid_public_key"),
    Case(
        "key server redirect",
        key_server_answers(302, b"", {"Location": "http://127.0.0.1:9/evil"}),
        401,
        "unknown_kid",
    ),
    Case(
        "wrong aud",
        lambda w: install(signed(w, aud="https://evil.example")),
        401,
        "invalid_audience",
    ),
    Case("missing aud", lambda w: install(signed(w, drop=("aud",))), 401, "missing_claim"),
    Case(
        "token of site B, body of site A",
        lambda w: install(signed(w, iss="site-b")),
        401,
        "issuer_mismatch",
    ),
    Case(
        "expired",
        lambda w: install(signed(w, iat=int(time.time()) - 900, exp=int(time.time()) - 120)),
        401,
        "token_expired",
    ),
    Case(
        "iat in the future",
        lambda w: install(signed(w, iat=int(time.time()) + 600, exp=int(time.time()) + 900)),
        401,
        "token_not_yet_valid",
    ),
    Case("missing qsh", lambda w: install(signed(w, drop=("qsh",))), 401, "missing_claim"),
    Case("missing iss", lambda w: install(signed(w, drop=("iss",))), 401, "missing_claim"),
    Case("missing exp", lambda w: install(signed(w, drop=("exp",))), 401, "missing_claim"),
    Case("missing iat", lambda w: install(signed(w, drop=("iat",))), 401, "missing_claim"),
    Case(
        "qsh of another URL", lambda w: install(signed(w, event="uninstalled")), 401, "qsh_mismatch"
    ),
    Case(
        "context-qsh", lambda w: install(signed(w, qsh="context-qsh")), 401, "context_qsh_refused"
    ),
    Case("tampered claims", lambda w: install(tamper(signed(w))), 401, "invalid_signature"),
    Case("malformed JSON", lambda w: install(signed(w), b"{not json"), 400, "malformed_payload"),
    Case("JSON array body", lambda w: install(signed(w), b"[]"), 400, "malformed_payload"),
    Case(
        "missing sharedSecret",
        lambda w: install(signed(w), lifecycle_body("site-a")),
        400,
        "missing_fields",
    ),
    Case(
        "wrong eventType",
        lambda w: install(
            signed(w), lifecycle_body("site-a", secret=ATTACKER_SECRET, eventType="enabled")
        ),
        400,
        "wrong_event_type",
    ),
    Case(
        "wrong app key",
        lambda w: install(
            signed(w), lifecycle_body("site-a", secret=ATTACKER_SECRET, key="other.app")
        ),
        400,
        "wrong_app_key",
    ),
    Case(
        "site not on an allowed host",
        lambda w: install(
            signed(w),
            lifecycle_body("site-a", secret=ATTACKER_SECRET, base_url="https://evil.example"),
        ),
        403,
        "site_not_allowed",
    ),
    Case(
        "host hidden in a fragment",
        lambda w: install(
            signed(w),
            lifecycle_body(
                "site-a", secret=ATTACKER_SECRET, base_url="https://evil.example#.atlassian.net"
            ),
        ),
        400,
        "invalid_field",
    ),
    Case(
        "http site on a wildcard host",
        lambda w: install(
            signed(w),
            lifecycle_body("site-a", secret=ATTACKER_SECRET, base_url="http://x.atlassian.net"),
        ),
        400,
        "invalid_field",
    ),
    Case(
        "sharedSecret not a string",
        lambda w: install(
            signed(w), lifecycle_body("site-a", secret=ATTACKER_SECRET) | {"sharedSecret": ["x"]}
        ),
        400,
        "invalid_field",
    ),
    Case(
        "signature respelled with base64 padding",
        lambda w: install(respell(signed(w))),
        401,
        "malformed_token",
    ),
    Case(
        "signature respelled with stray bits",
        lambda w: install(flip_stray_bits(signed(w))),
        401,
        "malformed_token",
    ),
    Case(
        "signed exp as a JSON string",
        lambda w: raw_install_claims(w, exp=f'"{int(time.time()) + 180}"'),
        401,
        "invalid_claim",
    ),
    Case(
        "signed iat as a JSON string",
        lambda w: raw_install_claims(w, iat=f'"{int(time.time())}"'),
        401,
        "invalid_claim",
    ),
    Case(
        "signed nbf as a JSON string",
        lambda w: raw_install_claims(w, nbf='"0"'),
        401,
        "invalid_claim",
    ),
    Case("signed exp as true", lambda w: raw_install_claims(w, exp="true"), 401, "invalid_claim"),
    Case(
        "signed iss as a list",
        lambda w: raw_install_claims(w, iss='["site-a"]'),
        401,
        "invalid_claim",
    ),
    Case("signed aud as a number", lambda w: raw_install_claims(w, aud="1"), 401, "invalid_claim"),
    Case(
        "signed qsh as a list", lambda w: raw_install_claims(w, qsh='["x"]'), 401, "invalid_claim"
    ),
    Case(
        "signed sub as an object",
        lambda w: raw_install_claims(w, sub='{"id": 1}'),
        401,
        "invalid_claim",
    ),
    Case(
        "signed payload with a repeated iss",
        lambda w: raw_install_claims(w, **{"iss": '"site-a", "iss": "site-b"'}),
        401,
        "malformed_token",
    ),
    Case(
        "backslash in the site host",
        install_with_site("https://evil.example\\.atlassian.net"),
        400,
        "invalid_field",
    ),
    Case(
        "credentials before an allowed host",
        install_with_site("https://site-a.atlassian.net@evil.example"),
        400,
        "invalid_field",
    ),
    Case(
        "allowed host as userinfo of another",
        install_with_site("https://evil.example@site-a.atlassian.net"),
        400,
        "invalid_field",
    ),
    Case(
        "port on a wildcard host",
        install_with_site("https://site-a.atlassian.net:8443"),
        400,
        "invalid_field",
    ),
    Case(
        "percent-encoded slash in the host",
        install_with_site("https://evil.example%2F.atlassian.net"),
        400,
        "invalid_field",
    ),
    Case(
        "ideographic full stop in the host",
        install_with_site("https://evil.example\u3002atlassian.net"),
        400,
        "invalid_field",
    ),
    Case(
        "tab in the site host",
        install_with_site("https://evil.example\t.atlassian.net"),
        400,
        "invalid_field",
    ),
    Case(
        "query after an allowed host",
        install_with_site("https://site-a.atlassian.net?x=@evil.example"),
        400,
        "invalid_field",
    ),
    Case(
        "empty label in the host",
        install_with_site("https://evil..atlassian.net"),
        400,
        "invalid_field",
    ),
    Case(
        "deeply nested install body",
        install_with_raw_body(b"[" * 30_000 + b"]" * 30_000),
        400,
        "malformed_payload",
    ),
    Case(
        "nested array inside an install field",
        install_with_raw_body(
            genuine_body_json()[:-1].encode() + b', "extra": ' + b"[" * 40 + b"]" * 40 + b"}"
        ),
        400,
        "malformed_payload",
    ),
    Case(
        "NUL in the description",
        install_with_raw_body(genuine_body_json(description="Jira\u0000").encode()),
        400,
        "malformed_payload",
    ),
    Case(
        "escape character in the clientKey",
        install_with_raw_body(genuine_body_json().replace('"site-a"', '"site-a\\u001b"').encode()),
        400,
        "malformed_payload",
    ),
    Case(
        "repeated clientKey in the install body",
        install_with_raw_body(genuine_body_json()[:-1].encode() + b', "clientKey": "site-b"}'),
        400,
        "malformed_payload",
    ),
    Case(
        "NaN in the install body",
        install_with_raw_body(genuine_body_json()[:-1].encode() + b', "x": NaN}'),
        400,
        "malformed_payload",
    ),
    Case(
        "forged HS256 uninstall with the site's real secret",
        lambda w: Attempt(
            "/connect/uninstalled",
            "JWT " + hs(method="POST", path="/connect/uninstalled", query=""),
            json.dumps(lifecycle_body("site-a", event="uninstalled")).encode(),
        ),
        401,
        "algorithm_not_allowed",
    ),
]

CALL_CASES = [
    Case("no token on an action", lambda w: call(None), 401, "not_authenticated"),
    Case(
        "bearer token on an action", lambda w: call(hs(), scheme="Bearer"), 401, "malformed_token"
    ),
    Case("alg none on an action", unsigned("none", "call"), 401, "algorithm_not_allowed"),
    Case("RS256 where HS256 is required", rs256_on_action, 401, "algorithm_not_allowed"),
    Case("HS512", lambda w: call(hs(algorithm="HS512")), 401, "algorithm_not_allowed"),
    Case("unknown iss", lambda w: call(hs(iss="nobody")), 401, "unknown_issuer"),
    Case(
        "site A's iss signed with site B's secret",
        lambda w: call(hs(SECRET_B)),
        401,
        "invalid_signature",
    ),
    Case("attacker's secret", lambda w: call(hs(ATTACKER_SECRET)), 401, "invalid_signature"),
    Case(
        "uninstalled site", lambda w: call(hs(SECRET_B, iss="site-c")), 401, "inactive_installation"
    ),
    Case("disabled site", lambda w: call(hs(SECRET_B, iss="site-d")), 401, "inactive_installation"),
    Case(
        "expired call",
        lambda w: call(hs(iat=int(time.time()) - 600, exp=int(time.time()) - 120)),
        401,
        "token_expired",
    ),
    Case(
        "call from the future",
        lambda w: call(hs(iat=int(time.time()) + 600, exp=int(time.time()) + 700)),
        401,
        "token_not_yet_valid",
    ),
    Case("call without qsh", lambda w: call(hs(drop=("qsh",))), 401, "missing_claim"),
    Case("call without iss", lambda w: call(hs(drop=("iss",))), 401, "missing_claim"),
    Case("call without exp", lambda w: call(hs(drop=("exp",))), 401, "missing_claim"),
    Case("call without iat", lambda w: call(hs(drop=("iat",))), 401, "missing_claim"),
    Case(
        "qsh of another query", lambda w: call(hs(query="searchQuery=other")), 401, "qsh_mismatch"
    ),
    Case(
        "context-qsh on an action",
        lambda w: call(hs(qsh="context-qsh")),
        401,
        "context_qsh_refused",
    ),
    Case("tampered call", lambda w: call(tamper(hs())), 401, "invalid_signature"),
    Case(
        "token in header and query",
        lambda w: call(hs(), query=f"{ACTION_QUERY}&jwt={hs()}"),
        401,
        "token_in_query",
    ),
    Case(
        "token living for a day",
        lambda w: call(hs(exp=int(time.time()) + 86400)),
        401,
        "invalid_claim",
    ),
    Case("exp of Infinity", exp_infinity, 401, "malformed_token"),
    Case(
        "genuine token only in ?jwt=",
        lambda w: call(None, query=f"{ACTION_QUERY}&jwt={hs()}"),
        401,
        "token_in_query",
    ),
    Case(
        "call signature respelled with base64 padding",
        lambda w: call(respell(hs())),
        401,
        "malformed_token",
    ),
    Case(
        "call signature with stray bits",
        lambda w: call(flip_stray_bits(hs())),
        401,
        "malformed_token",
    ),
    Case(
        "signed call with exp as a JSON string",
        lambda w: raw_call_claims(exp=f'"{int(time.time()) + 180}"'),
        401,
        "invalid_claim",
    ),
    Case(
        "signed call with iat as a JSON string",
        lambda w: raw_call_claims(iat=f'"{int(time.time())}"'),
        401,
        "invalid_claim",
    ),
    Case(
        "signed call with sub as a number",
        lambda w: raw_call_claims(sub="42"),
        401,
        "invalid_claim",
    ),
    Case(
        "deeply nested token payload",
        lambda w: raw_call_claims(x="[" * 40 + "]" * 40),
        401,
        "malformed_token",
    ),
]


@pytest.fixture
def world(db, rsa_key, other_rsa_key, key_server, settings):
    make_installation("site-a", SECRET_A, base_url=SITE_A, last_lifecycle_iat=1)
    make_installation("site-b", SECRET_B)
    make_installation("site-c", SECRET_B, state=Installation.State.UNINSTALLED)
    make_installation("site-d", SECRET_B, enabled=False)
    return World(rsa_key, other_rsa_key, key_server, settings)


def snapshot() -> dict:
    return {
        row.client_key: (
            row.shared_secret,
            row.state,
            row.enabled,
            row.base_url,
            row.last_lifecycle_iat,
            row.updated_at,
        )
        for row in Installation.objects.all()
    }


def send(client, attempt: Attempt):
    url = attempt.path + (f"?{attempt.query}" if attempt.query else "")
    headers = {"HTTP_AUTHORIZATION": attempt.authorization} if attempt.authorization else {}
    if attempt.body is None:
        return client.get(url, **headers)
    return client.post(url, attempt.body, content_type="application/json", **headers)


def test_the_table_is_large_enough():
    assert len(INSTALL_CASES) + len(CALL_CASES) >= 30


@pytest.mark.parametrize("case", INSTALL_CASES + CALL_CASES, ids=lambda case: case.name)
def test_forged_or_malformed_request_is_refused_and_changes_nothing(client, world, case):
    before = snapshot()
    response = send(client, case.build(world))
    assert response.status_code == case.status
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert body["error"] == case.code
    assert body["detail"]
    assert snapshot() == before


def test_bad_kid_is_never_fetched(client, world):
    send(client, install(signed(world, kid="../x")))
    send(client, install(signed(world, kid="..")))
    assert world.key_server.paths == []


def test_redirect_from_the_key_server_is_not_followed(client, world):
    target = f"/{KID}-elsewhere"
    world.key_server.overrides[KID] = (302, b"", {"Location": world.key_server.url + target})
    send(client, install(signed(world)))
    assert world.key_server.paths == [f"/{KID}"]
