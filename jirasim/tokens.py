"""Connect JWTs as Jira makes and checks them.

* App → Jira (the Operations REST API): HS256 with the installation's shared secret, ``iss`` =
  the app key, a ``qsh`` of the exact request. Jira's own Java reader requires ``iat``/``exp``
  and allows 30 s of clock leeway, as Atlassian's Connect frameworks do.
* Jira → app (actions): HS256, ``iss`` = the site's clientKey, optional ``sub`` = an account id.
* Jira → app (``installed``/``uninstalled``): RS256 signed with Jira's own key pair, header
  ``kid``, ``aud`` = the app's baseUrl; the public key is served by ``kid``.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from jirasim.qsh import query_string_hash

#: Clock leeway Jira applies to ``exp``/``iat`` (atlassian-jwt Java, TIME_CLAIM_LEEWAY_SECONDS).
LEEWAY_SECONDS = 30
#: Lifetime of the tokens the simulator itself mints (Jira uses a few minutes).
TOKEN_LIFETIME_SECONDS = 180
#: The qsh value of context tokens, which are never valid for server-to-server calls.
CONTEXT_QSH = "context-qsh"


class TokenRejected(Exception):
    """A JWT Jira would refuse with 401.

    ``reason`` says why in a sentence (never echoing the token); ``code`` is a short, stable
    name for counting (``missing``, ``alg``, ``malformed``, ``claims``, ``signature``,
    ``expired``, ``future-iat``, ``context-qsh``, ``qsh``, ``unknown-iss``).
    """

    def __init__(self, code: str, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason


def bearer_token(authorization: str | None) -> str:
    """Return the token of an ``Authorization: JWT <token>`` header (the spec's ``JWT \\S+``)."""
    if not authorization:
        raise TokenRejected("missing", "missing Authorization header (expected 'JWT <token>')")
    scheme, _, token = authorization.partition(" ")
    if scheme != "JWT" or not token.strip() or " " in token.strip():
        raise TokenRejected("missing", "Authorization header must be 'JWT <token>'")
    return token.strip()


def unverified_issuer(token: str) -> str:
    """Read ``iss`` before verification (to find the secret); the header must say HS256."""
    try:
        header = jwt.get_unverified_header(token)
        claims = jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError as error:
        raise TokenRejected("malformed", f"malformed JWT: {error}") from None
    if header.get("alg") != "HS256":
        raise TokenRejected("alg", f"JWT alg must be HS256, not {header.get('alg')!r}")
    issuer = claims.get("iss")
    if not isinstance(issuer, str) or not issuer:
        raise TokenRejected("claims", "JWT has no iss claim")
    return issuer


def verify_hs256(
    token: str,
    secret: str,
    *,
    method: str,
    path: str,
    query: str,
    now: float,
) -> dict:
    """Verify signature, ``exp``/``iat`` (with leeway) and ``qsh``; return the claims."""
    try:
        claims = jwt.decode(
            token,
            secret,
            algorithms=["HS256"],
            options={"verify_exp": False, "verify_iat": False, "verify_aud": False},
        )
    except jwt.InvalidSignatureError:
        raise TokenRejected("signature", "JWT signature does not match the shared secret") from None
    except jwt.PyJWTError as error:
        raise TokenRejected("malformed", f"malformed JWT: {error}") from None
    for claim in ("iat", "exp", "qsh"):
        if claim not in claims:
            raise TokenRejected("claims", f"JWT has no {claim} claim")
    if not isinstance(claims["exp"], int | float) or not isinstance(claims["iat"], int | float):
        raise TokenRejected("claims", "JWT iat and exp must be numbers")
    if now > claims["exp"] + LEEWAY_SECONDS:
        raise TokenRejected("expired", "JWT has expired")
    if claims["iat"] > now + LEEWAY_SECONDS:
        raise TokenRejected("future-iat", "JWT iat is in the future")
    if claims["qsh"] == CONTEXT_QSH:
        raise TokenRejected(
            "context-qsh", "a context JWT (qsh 'context-qsh') is not valid for this request"
        )
    expected = query_string_hash(method, path, query)
    if not isinstance(claims["qsh"], str) or not hmac.compare_digest(claims["qsh"], expected):
        raise TokenRejected(
            "qsh",
            "JWT qsh does not match this request (hash METHOD&path&query with the path "
            "relative to the site baseUrl)",
        )
    return claims


def sign_hs256(
    *,
    issuer: str,
    secret: str,
    method: str,
    path: str,
    query: str = "",
    now: float,
    subject: str | None = None,
) -> str:
    """Mint an HS256 Connect token for one request (path relative to the receiver's baseUrl)."""
    claims = {
        "iss": issuer,
        "iat": int(now),
        "exp": int(now) + TOKEN_LIFETIME_SECONDS,
        "qsh": query_string_hash(method, path, query),
    }
    if subject:
        claims["sub"] = subject
    return jwt.encode(claims, secret, algorithm="HS256")


@dataclass(frozen=True)
class InstallKey:
    """The RSA key pair Jira signs lifecycle callbacks with, and its ``kid``."""

    kid: str
    private_key: rsa.RSAPrivateKey

    @classmethod
    def generate(cls) -> InstallKey:
        private_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        der = private_key.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        # The kid matches ^[A-Za-z0-9._-]{1,128}$, the format the portal accepts.
        return cls(kid=f"jirasim-{hashlib.sha256(der).hexdigest()[:32]}", private_key=private_key)

    @property
    def public_pem(self) -> str:
        return (
            self.private_key.public_key()
            .public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
            .decode("ascii")
        )

    def sign_lifecycle(
        self, *, client_key: str, audience: str, method: str, path: str, query: str, now: float
    ) -> str:
        """Sign an ``installed``/``uninstalled`` callback the way Jira does (RS256 + kid)."""
        claims = {
            "iss": client_key,
            "aud": audience,
            "iat": int(now),
            "exp": int(now) + TOKEN_LIFETIME_SECONDS,
            "qsh": query_string_hash(method, path, query),
        }
        return jwt.encode(claims, self.private_key, algorithm="RS256", headers={"kid": self.kid})


@lru_cache(maxsize=1)
def default_install_key() -> InstallKey:
    """One key pair per process: RSA generation is slow, and tests start many simulators."""
    return InstallKey.generate()


def new_shared_secret() -> str:
    """A random shared secret, as Jira issues on every install."""
    return secrets.token_urlsafe(32)


Clock = Callable[[], float]
