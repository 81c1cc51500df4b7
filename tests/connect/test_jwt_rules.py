"""The JWT rules as plain functions: outgoing claims, leeway, sub, aud normalisation."""

import time
from typing import Any

import jwt as pyjwt
import pytest

from connect import errors
from connect.jwt import (
    MAX_LEEWAY_SECONDS,
    encode_outgoing_token,
    leeway_seconds,
    query_string_hash,
    token_from_authorization,
    verify_install_token,
    verify_server_token,
)

from .conftest import KID
from .support import APP_KEY, BASE_URL, hand_made_token, install_token, server_token

SECRET = "s" * 64
WHERE = {"method": "GET", "path": "/jira/operations/containers/search", "query": "searchQuery=db"}
INSTALL: dict[str, Any] = {"method": "POST", "path": "/connect/installed", "query": ""}


def secret_for(issuer):
    if issuer != "site-a":
        raise errors.UnknownIssuer("unknown")
    return SECRET


def test_outgoing_token_is_issued_by_the_app_key_and_short_lived():
    token = encode_outgoing_token(
        method="post", path="/rest/x", query="a=1", secret=SECRET, now=1000
    )
    claims = pyjwt.decode(token, SECRET, algorithms=["HS256"], options={"verify_exp": False})
    assert claims == {
        "iss": APP_KEY,
        "iat": 1000,
        "exp": 1180,
        "qsh": query_string_hash("POST", "/rest/x", "a=1"),
    }
    assert pyjwt.get_unverified_header(token)["alg"] == "HS256"


def test_genuine_server_token_exposes_issuer_and_sub():
    token = server_token(SECRET, iss="site-a", sub="557058:abc")
    verified = verify_server_token(token, secret_for=secret_for, **WHERE)
    assert verified.issuer == "site-a"
    assert verified.account_id == "557058:abc"


def test_server_token_without_sub_has_no_account_id():
    verified = verify_server_token(
        server_token(SECRET, iss="site-a"), secret_for=secret_for, **WHERE
    )
    assert verified.account_id is None


def test_expiry_within_the_leeway_is_accepted(settings):
    settings.CONNECT_JWT_LEEWAY_SECONDS = 30
    now = int(time.time())
    token = server_token(SECRET, iss="site-a", iat=now - 200, exp=now - 10)
    assert verify_server_token(token, secret_for=secret_for, **WHERE).issuer == "site-a"


def test_expiry_beyond_the_leeway_is_refused(settings):
    settings.CONNECT_JWT_LEEWAY_SECONDS = 30
    now = int(time.time())
    token = server_token(SECRET, iss="site-a", iat=now - 200, exp=now - 45)
    with pytest.raises(errors.TokenExpired):
        verify_server_token(token, secret_for=secret_for, **WHERE)


def test_leeway_is_capped_at_sixty_seconds(settings):
    settings.CONNECT_JWT_LEEWAY_SECONDS = 900
    assert leeway_seconds() == MAX_LEEWAY_SECONDS == 60
    now = int(time.time())
    token = server_token(SECRET, iss="site-a", iat=now - 300, exp=now - 90)
    with pytest.raises(errors.TokenExpired):
        verify_server_token(token, secret_for=secret_for, **WHERE)


def test_iat_slightly_ahead_is_tolerated_but_not_beyond_the_leeway(settings):
    settings.CONNECT_JWT_LEEWAY_SECONDS = 30
    now = int(time.time())
    ok = server_token(SECRET, iss="site-a", iat=now + 10, exp=now + 100)
    verify_server_token(ok, secret_for=secret_for, **WHERE)
    ahead = server_token(SECRET, iss="site-a", iat=now + 50, exp=now + 100)
    with pytest.raises(errors.TokenNotYetValid):
        verify_server_token(ahead, secret_for=secret_for, **WHERE)


def test_unknown_issuer_comes_from_the_lookup():
    with pytest.raises(errors.UnknownIssuer):
        verify_server_token(server_token(SECRET, iss="other"), secret_for=secret_for, **WHERE)


def test_non_string_issuer_is_refused_before_any_lookup():
    claims = {"iss": 42, "iat": 1, "exp": 2, "qsh": "x"}
    token = hand_made_token({"alg": "HS256"}, claims, hmac_key=SECRET.encode())
    with pytest.raises(errors.InvalidClaim):
        verify_server_token(token, secret_for=secret_for, **WHERE)


def test_non_string_token_is_malformed():
    with pytest.raises(errors.MalformedToken):
        verify_server_token(None, secret_for=secret_for, **WHERE)


def test_install_token_with_trailing_slash_audience_is_accepted(rsa_key, key_server):
    token = install_token(rsa_key, KID, iss="site-a", aud=BASE_URL + "/")
    assert verify_install_token(token, **INSTALL).issuer == "site-a"


def test_install_token_with_audience_list_is_accepted(rsa_key, key_server):
    token = install_token(rsa_key, KID, iss="site-a", aud=["https://other.example", BASE_URL])
    assert verify_install_token(token, **INSTALL).issuer == "site-a"


def test_configured_extra_audience_is_accepted(rsa_key, key_server, settings):
    settings.CONNECT_ALLOWED_AUDIENCES = ["https://old-name.example.com/"]
    token = install_token(rsa_key, KID, iss="site-a", aud="https://old-name.example.com")
    assert verify_install_token(token, **INSTALL).issuer == "site-a"


def test_audience_prefix_is_not_enough(rsa_key, key_server):
    token = install_token(rsa_key, KID, iss="site-a", aud=BASE_URL + ".evil.example")
    with pytest.raises(errors.InvalidAudience):
        verify_install_token(token, **INSTALL)


def test_install_token_keys_come_only_from_the_given_source(rsa_key, other_rsa_key):
    token = install_token(rsa_key, KID, iss="site-a")
    with pytest.raises(errors.InvalidSignature):
        verify_install_token(token, key_for=lambda kid: other_rsa_key.public_key(), **INSTALL)
    verified = verify_install_token(token, key_for=lambda kid: rsa_key.public_key(), **INSTALL)
    assert verified.algorithm == "RS256"


def test_headers_pointing_elsewhere_are_ignored(rsa_key, key_server):
    claims = {
        "iss": "site-a",
        "aud": BASE_URL,
        "iat": int(time.time()),
        "exp": int(time.time()) + 60,
    }
    claims["qsh"] = query_string_hash("POST", "/connect/installed")
    headers = {"kid": KID, "jku": "http://evil/jwks", "x5u": "http://evil/cert"}
    token = pyjwt.encode(claims, rsa_key, algorithm="RS256", headers=headers)
    verify_install_token(token, **INSTALL)
    assert key_server.paths == [f"/{KID}"]


@pytest.mark.parametrize(
    ("header", "token"),
    [
        ("JWT abc.def.ghi", "abc.def.ghi"),
        ("jwt abc", "abc"),
        ("Bearer abc", None),
        ("JWT ", None),
        ("", None),
        (None, None),
    ],
)
def test_token_from_authorization(header, token):
    assert token_from_authorization(header) == token


@pytest.mark.parametrize(
    ("claim", "value"),
    [
        ("exp", "9999999999"),
        ("iat", "1"),
        ("nbf", "0"),
        ("exp", True),
        ("iat", [1]),
        ("iss", 7),
        ("sub", ["557058:abc"]),
        ("qsh", {"hash": "x"}),
        ("aud", 1),
        ("aud", ["ok", 2]),
    ],
)
def test_claims_of_the_wrong_json_type_are_refused_despite_a_valid_signature(claim, value):
    now = int(time.time())
    payload = {"iss": "site-a", "iat": now, "exp": now + 60, "qsh": query_string_hash(**WHERE)}
    payload[claim] = value
    token = hand_made_token({"alg": "HS256", "typ": "JWT"}, payload, hmac_key=SECRET.encode())
    with pytest.raises(errors.InvalidClaim, match=f"'{claim}'"):
        verify_server_token(token, secret_for=secret_for, **WHERE)


def test_float_times_are_numbers_too():
    now = time.time()
    token = server_token(SECRET, iss="site-a", iat=now, exp=now + 60.5)
    assert verify_server_token(token, secret_for=secret_for, **WHERE).issuer == "site-a"
