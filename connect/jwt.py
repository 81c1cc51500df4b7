"""Connect JWTs both ways: the query-string hash, signing app→Jira calls, verifying Jira's.

Written on PyJWT with every rule explicit
(https://developer.atlassian.com/cloud/jira/platform/understanding-jwt-for-connect-apps/):

* only the canonical spelling of a token is read (unpadded base64url without stray bits, standard
  JSON), so one signed content has one text and replays are recognised by what was signed;
* claims have their JSON types: `iat`, `exp`, `nbf` numbers; `iss`, `sub`, `qsh` strings;
* one algorithm per context, fixed by the caller, never chosen by the token header: HS256 for
  server-to-server calls, RS256 for signed installs;
* `iss`, `iat`, `exp` and `qsh` are required (`aud` too on installs); `qsh` must equal the hash of
  this very request, and the iframe-only value `context-qsh` is refused;
* a small leeway (CONNECT_JWT_LEEWAY_SECONDS, never more than 60 s), `iat` not in the future;
* every failure is one `connect.errors` class with a reason a person can act on.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import math
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, unquote_plus, urlsplit

import jwt as pyjwt
from atlassian_jwt import url_utils
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey
from django.conf import settings

from . import install_keys, json_bodies
from .errors import (
    AlgorithmNotAllowed,
    ContextQshRefused,
    InvalidAudience,
    InvalidClaim,
    InvalidSignature,
    MalformedToken,
    MissingClaim,
    QshMismatch,
    TokenExpired,
    TokenNotYetValid,
)

HS256 = "HS256"
RS256 = "RS256"
#: The fixed qsh of context (iframe) tokens; never valid on server-to-server endpoints.
CONTEXT_QSH = "context-qsh"
#: The query parameter that may carry a token and is excluded from the hash.
JWT_QUERY_PARAM = "jwt"
#: Claims every Connect token must carry; signed installs also carry `aud`.
REQUIRED_CLAIMS = ("iss", "iat", "exp", "qsh")
#: Upper bound on the configurable clock leeway ("no more than a few minutes"; Jira uses 30 s).
MAX_LEEWAY_SECONDS = 60
#: Lifetime of our tokens to Jira: short, and re-signed on every retry (ACSB and ACE use 180 s).
OUTGOING_TOKEN_LIFETIME_SECONDS = 180
#: Longest lifetime accepted on incoming tokens; Jira's are 3-15 minutes.
MAX_INCOMING_LIFETIME_SECONDS = 3600
#: Connect tokens are a few hundred bytes; anything this long is refused before parsing.
MAX_TOKEN_LENGTH = 8192
#: One unpadded base64url segment.
_SEGMENT = re.compile(r"[A-Za-z0-9_-]*")
#: Claims that must be JSON numbers, and claims that must be JSON strings (`aud` may be a list).
NUMERIC_CLAIMS = ("iat", "exp", "nbf")
STRING_CLAIMS = ("iss", "sub", "qsh")


# --- The query-string hash ------------------------------------------------------------------


def _encode(text: str) -> str:
    """RFC 3986 percent-encoding, unreserved characters only (space → %20, * → %2A, ~ kept)."""
    return quote(text, safe="~")


def canonical_path(path: str) -> str:
    """`path` (already relative to the base URL) with a leading `/`, one trailing `/` removed
    unless it is the only character, and `&` encoded as `%26`. Escapes are kept as sent."""
    if not path.startswith("/"):
        path = "/" + path
    if len(path) > 1 and path.endswith("/"):
        path = path[:-1]
    return path.replace("&", "%26")


def canonical_query(query: str) -> str:
    """Canonicalise a raw query string: decode, drop `jwt`, re-encode, sort, join repeats.

    Names are sorted by their encoded form; repeated values are sorted by their decoded form
    and joined with `,`, as Jira's own canonicaliser does (the JWT-20 quirk atlassian-jwt keeps).
    """
    values: dict[str, list[str]] = {}
    for pair in query.split("&"):
        if not pair:
            continue
        name, _, value = pair.partition("=")
        name = unquote_plus(name)
        if name == JWT_QUERY_PARAM:
            continue
        values.setdefault(name, []).append(unquote_plus(value))
    pairs = sorted(
        (_encode(name), ",".join(_encode(v) for v in sorted(vals))) for name, vals in values.items()
    )
    return "&".join(f"{name}={joined}" for name, joined in pairs)


def canonical_request(method: str, path: str, query: str = "") -> str:
    """`METHOD&canonical-path&canonical-query` for a path relative to the base URL.

    atlassian-jwt computes it, except for the paths its `urlparse` would misread (see
    `_misread_by_atlassian_jwt`), which keep this module's own canonicaliser.
    """
    if _misread_by_atlassian_jwt(path):
        return hand_canonical_request(method, path, query)
    url = path + (f"?{query}" if query else "")
    return url_utils.canonicalize_request(method, url)


def hand_canonical_request(method: str, path: str, query: str = "") -> str:
    """The canonical request by the rules alone, for any path."""
    return f"{method.upper()}&{canonical_path(path)}&{canonical_query(query)}"


def _misread_by_atlassian_jwt(path: str) -> bool:
    """Whether atlassian-jwt's `urlparse` would read a different path than the one sent.

    It strips every leading and trailing `/` (the rules remove one trailing `/`), takes a first
    segment such as `http:` for a scheme, and cuts the path at a `?`, `#` or `;` that a decoded
    path may contain.
    """
    bare = path.lstrip("/")
    return (
        path.startswith("//")
        or path.endswith("//")
        or any(char in path for char in "?#;")
        or bool(urlsplit(bare).scheme)
    )


def query_string_hash(method: str, path: str, query: str = "") -> str:
    """The `qsh` claim for a request: hex SHA-256 of its canonical request."""
    return hashlib.sha256(canonical_request(method, path, query).encode("utf-8")).hexdigest()


def relative_path(path: str, base_path: str) -> str:
    """Strip a base URL's path (`/wiki`) from a request path, as the qsh rules require."""
    base_path = base_path.rstrip("/")
    if base_path and (path == base_path or path.startswith(base_path + "/")):
        return path[len(base_path) :] or "/"
    return path


# --- App → Jira -------------------------------------------------------------------------------


def encode_outgoing_token(
    *,
    method: str,
    path: str,
    query: str,
    secret: str,
    issuer: str | None = None,
    lifetime: int = OUTGOING_TOKEN_LIFETIME_SECONDS,
    now: float | None = None,
) -> str:
    """Sign one request to Jira: HS256 with the site's secret, `iss` = the app key (not the
    clientKey), `qsh` over exactly the method, path (relative to the site) and query sent."""
    issued = int(time.time() if now is None else now)
    claims = {
        "iss": issuer or settings.CONNECT_APP_KEY,
        "iat": issued,
        "exp": issued + lifetime,
        "qsh": query_string_hash(method, path, query),
    }
    return pyjwt.encode(claims, secret, algorithm=HS256)


# --- Jira → app ------------------------------------------------------------------------------


@dataclass(frozen=True)
class VerifiedToken:
    """The verified claims of an incoming token."""

    claims: Mapping[str, Any] = field(repr=False)
    algorithm: str
    #: SHA-256 of the decoded header and payload: what was signed, however it was spelled.
    signed_digest: str = ""

    @property
    def issuer(self) -> str:
        return self.claims["iss"]

    @property
    def account_id(self) -> str | None:
        """`sub`: the Atlassian account id of the acting user, when Jira sends one."""
        sub = self.claims.get("sub")
        return sub if isinstance(sub, str) and sub else None

    @property
    def issued_at(self) -> int:
        return int(self.claims["iat"])

    @property
    def expires_at(self) -> int:
        return int(self.claims["exp"])


def leeway_seconds() -> int:
    """The configured clock leeway, clamped to 0..MAX_LEEWAY_SECONDS."""
    configured = int(getattr(settings, "CONNECT_JWT_LEEWAY_SECONDS", 30))
    return max(0, min(configured, MAX_LEEWAY_SECONDS))


@dataclass(frozen=True)
class TokenParts:
    """A token's decoded header and claims, before its signature is checked."""

    header: dict[str, Any]
    claims: dict[str, Any]
    #: SHA-256 over the decoded header and payload bytes (see `VerifiedToken.signed_digest`).
    signed_digest: str


def split_token(token: object) -> TokenParts:
    """Decode a token's three segments strictly, so that one signed content has one spelling.

    base64url lets the last character of a segment carry unused bits that decoders ignore, so
    several texts decode to the same bytes: only the canonical, unpadded spelling is accepted.
    Header and payload must be standard JSON objects (`connect.json_bodies`: no `Infinity`, no
    repeated key, bounded depth).
    """
    if not isinstance(token, str) or not token:
        raise MalformedToken("the JWT is empty")
    if len(token) > MAX_TOKEN_LENGTH:
        raise MalformedToken(f"the JWT is longer than {MAX_TOKEN_LENGTH} characters")
    segments = token.split(".")
    if len(segments) != 3:
        raise MalformedToken("the JWT must have three dot-separated segments")
    header_bytes, payload_bytes, _signature = (_decode_segment(part) for part in segments)
    header = _json_object(header_bytes, "header")
    claims = _json_object(payload_bytes, "payload")
    digest = hashlib.sha256(header_bytes + b"." + payload_bytes).hexdigest()
    return TokenParts(header=header, claims=claims, signed_digest=digest)


def _decode_segment(segment: str) -> bytes:
    if not _SEGMENT.fullmatch(segment) or len(segment) % 4 == 1:
        raise MalformedToken("a JWT segment is not unpadded base64url")
    try:
        data = base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))
    except (binascii.Error, ValueError) as exc:
        raise MalformedToken("a JWT segment is not unpadded base64url") from exc
    if base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii") != segment:
        raise MalformedToken("a JWT segment is not in canonical base64url (stray trailing bits)")
    return data


def _json_object(data: bytes, what: str) -> dict[str, Any]:
    try:
        value = json_bodies.loads(data)
    except json_bodies.UnsafeJSON as exc:
        raise MalformedToken(f"the JWT {what} cannot be parsed: {exc}") from exc
    if not isinstance(value, dict):
        raise MalformedToken(f"the JWT {what} must be a JSON object")
    return value


def unverified_header(token: object, *, algorithm: str) -> dict[str, Any]:
    """The token's header, after checking its shape and that `alg` is exactly `algorithm`."""
    header = split_token(token).header
    alg = header.get("alg")
    if alg != algorithm:
        raise AlgorithmNotAllowed(f"this endpoint accepts only {algorithm} tokens, not {alg!r}")
    return header


def unverified_claims(token: str) -> dict[str, Any]:
    """The claims of a token whose signature has not been checked yet (to find its issuer),
    each of the type the JWT rules give it."""
    claims = split_token(token).claims
    check_claim_types(claims)
    issuer = claims.get("iss")
    if issuer is None:
        raise MissingClaim("the JWT has no 'iss' claim")
    if not issuer:
        raise InvalidClaim("the JWT 'iss' claim must be a non-empty string")
    return claims


def check_claim_types(claims: Mapping[str, Any]) -> None:
    """`iat`, `exp`, `nbf` are JSON numbers; `iss`, `sub`, `qsh` strings; `aud` a string or a
    list of strings (RFC 7519 §4.1). PyJWT alone would take `"exp": "9999999999"`."""
    for name in NUMERIC_CLAIMS:
        value = claims.get(name)
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise InvalidClaim(f"the JWT '{name}' claim must be a number")
        if not math.isfinite(value):
            raise InvalidClaim(f"the JWT '{name}' claim must be a finite number")
    for name in STRING_CLAIMS:
        value = claims.get(name)
        if value is not None and not isinstance(value, str):
            raise InvalidClaim(f"the JWT '{name}' claim must be a string")
    aud = claims.get("aud")
    if aud is not None and not (
        isinstance(aud, str) or (isinstance(aud, list) and all(isinstance(a, str) for a in aud))
    ):
        raise InvalidClaim("the JWT 'aud' claim must be a string or a list of strings")


def verify_server_token(
    token: object,
    *,
    method: str,
    path: str,
    query: str,
    secret_for: Callable[[str], str],
) -> VerifiedToken:
    """Verify an HS256 token Jira sent with a server-to-server call (actions, enabled/disabled).

    `secret_for(iss)` returns the site's shared secret or raises a ConnectError (UnknownIssuer,
    InactiveInstallation); `path` is relative to CONNECT_BASE_URL and `query` is the raw query.
    """
    unverified_header(token, algorithm=HS256)
    assert isinstance(token, str)  # unverified_header() refuses anything else
    issuer = unverified_claims(token)["iss"]
    secret = secret_for(issuer)
    claims = _decode(token, secret, algorithm=HS256, require=REQUIRED_CLAIMS)
    _check_claims(claims, method=method, path=path, query=query)
    digest = split_token(token).signed_digest
    return VerifiedToken(claims=claims, algorithm=HS256, signed_digest=digest)


def verify_install_token(
    token: object,
    *,
    method: str,
    path: str,
    query: str,
    key_for: Callable[[str], RSAPublicKey] | None = None,
) -> VerifiedToken:
    """Verify the RS256 token of a signed lifecycle callback (`installed`, `uninstalled`).

    The key comes from `key_for(kid)` (by default the install-key server, cached per kid);
    `aud` must be CONNECT_BASE_URL (trailing slash ignored) or one of CONNECT_ALLOWED_AUDIENCES.
    The caller still has to compare `iss` with the body's clientKey.
    """
    header = unverified_header(token, algorithm=RS256)
    kid = install_keys.validate_kid(header.get("kid"))
    assert isinstance(token, str)  # unverified_header() refuses anything else
    unverified_claims(token)
    key = (key_for or install_keys.fetch_public_key)(kid)
    claims = _decode(token, key, algorithm=RS256, require=(*REQUIRED_CLAIMS, "aud"))
    _check_audience(claims["aud"])
    _check_claims(claims, method=method, path=path, query=query)
    digest = split_token(token).signed_digest
    return VerifiedToken(claims=claims, algorithm=RS256, signed_digest=digest)


def allowed_audiences() -> set[str]:
    """The `aud` values a signed install may carry, without trailing slashes."""
    values = [settings.CONNECT_BASE_URL, *getattr(settings, "CONNECT_ALLOWED_AUDIENCES", [])]
    return {value.rstrip("/") for value in values if value}


def _decode(token: str, key: Any, *, algorithm: str, require: tuple[str, ...]) -> dict[str, Any]:
    try:
        return pyjwt.decode(
            token,
            key,
            algorithms=[algorithm],
            leeway=leeway_seconds(),
            options={"require": list(require), "verify_aud": False, "verify_iss": False},
        )
    except pyjwt.ExpiredSignatureError as exc:
        raise TokenExpired("the JWT has expired ('exp' is in the past)") from exc
    except pyjwt.ImmatureSignatureError as exc:
        raise TokenNotYetValid("the JWT is not valid yet ('iat' or 'nbf' in the future)") from exc
    except pyjwt.MissingRequiredClaimError as exc:
        raise MissingClaim(f"the JWT has no {exc.claim!r} claim") from exc
    except pyjwt.InvalidSignatureError as exc:
        raise InvalidSignature("the JWT signature does not verify") from exc
    except pyjwt.InvalidKeyError as exc:
        raise InvalidSignature("the JWT cannot be verified with this site's key") from exc
    except pyjwt.InvalidAlgorithmError as exc:
        raise AlgorithmNotAllowed(f"this endpoint accepts only {algorithm} tokens") from exc
    except pyjwt.PyJWTError as exc:
        raise MalformedToken(f"the JWT is malformed: {exc}") from exc
    except (ValueError, TypeError, OverflowError) as exc:
        raise MalformedToken("the JWT has a claim of the wrong type") from exc


def _check_claims(claims: Mapping[str, Any], *, method: str, path: str, query: str) -> None:
    check_claim_types(claims)
    try:
        lifetime = int(claims["exp"]) - int(claims["iat"])
    except (ValueError, TypeError, OverflowError) as exc:
        raise InvalidClaim("the JWT 'iat' and 'exp' claims must be integers") from exc
    if lifetime > MAX_INCOMING_LIFETIME_SECONDS:
        raise InvalidClaim(
            f"the JWT lives longer than {MAX_INCOMING_LIFETIME_SECONDS} s ('exp' - 'iat')"
        )
    qsh = claims["qsh"]
    if not isinstance(qsh, str):
        raise InvalidClaim("the JWT 'qsh' claim must be a string")
    if qsh == CONTEXT_QSH:
        raise ContextQshRefused("a context token ('qsh' = 'context-qsh') cannot call this endpoint")
    expected = query_string_hash(method, path, query)
    if not hmac.compare_digest(qsh.encode("utf-8"), expected.encode("ascii")):
        raise QshMismatch(
            f"the JWT 'qsh' does not match this request ({method.upper()} {canonical_path(path)})"
        )


def _check_audience(aud: object) -> None:
    values = [aud] if isinstance(aud, str) else aud if isinstance(aud, list) else []
    allowed = allowed_audiences()
    if not any(isinstance(value, str) and value.rstrip("/") in allowed for value in values):
        raise InvalidAudience(
            f"the JWT 'aud' must be this portal's base URL {settings.CONNECT_BASE_URL!r}"
        )


def token_from_authorization(header: str | None) -> str | None:
    """The token of an `Authorization: JWT <token>` header, or None if there is none."""
    if not header:
        return None
    scheme, _, token = header.strip().partition(" ")
    if scheme.lower() != "jwt" or not token.strip():
        return None
    return token.strip()
