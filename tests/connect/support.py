"""Test helpers: a local install-key server, token builders, lifecycle bodies."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import socket
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import jwt as pyjwt
from atlassian_jwt.url_utils import hash_url
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from connect.models import Installation
from tests.incidents import factories

BASE_URL = "https://ops.example.com"
APP_KEY = "io.github.jira-ops-portal"
SITE_A = "https://site-a.atlassian.net"


def generate_rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def public_pem(private_key: rsa.RSAPrivateKey) -> bytes:
    return private_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def free_port() -> int:
    """A port nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class KeyServer:
    """A stdlib HTTP server in a thread, serving PEM keys at /<kid>."""

    keys: dict[str, bytes] = field(default_factory=dict)
    #: kid → (status, body, headers) to answer instead of a key.
    overrides: dict[str, tuple[int, bytes, dict[str, str]]] = field(default_factory=dict)
    paths: list[str] = field(default_factory=list)
    url: str = ""

    def start(self) -> KeyServer:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                server.paths.append(self.path)
                kid = self.path.lstrip("/")
                if kid in server.overrides:
                    status, body, headers = server.overrides[kid]
                elif kid in server.keys:
                    status, body, headers = 200, server.keys[kid], {}
                else:
                    status, body, headers = 404, b"not found", {}
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._httpd.server_address[1]}"
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)
        self._thread.start()
        return self

    def reset(self, keys: dict[str, bytes]) -> None:
        self.keys = dict(keys)
        self.overrides.clear()
        self.paths.clear()

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def hand_made_token(header: dict, claims: dict, *, hmac_key: bytes | None = None) -> str:
    """A token built by hand: unsigned, or HMAC-SHA256 with any bytes (e.g. a public PEM)."""
    signing_input = f"{b64(json.dumps(header).encode())}.{b64(json.dumps(claims).encode())}"
    signature = b""
    if hmac_key is not None:
        signature = hmac.new(hmac_key, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{b64(signature)}"


def qsh(method: str, path: str, query: str = "") -> str:
    """The qsh by atlassian-jwt, an implementation independent of the portal's."""
    return hash_url(method, path + (f"?{query}" if query else ""))


def claims_for(
    *,
    iss: str,
    method: str,
    path: str,
    query: str = "",
    aud: str | list[str] | None = None,
    drop: tuple[str, ...] = (),
    **overrides: Any,
) -> dict[str, Any]:
    now = int(time.time())
    claims: dict[str, Any] = {
        "iss": iss,
        "iat": now,
        "exp": now + 180,
        "qsh": qsh(method, path, query),
    }
    if aud is not None:
        claims["aud"] = aud
    claims.update(overrides)
    for name in drop:
        claims.pop(name, None)
    return claims


def install_token(
    private_key: rsa.RSAPrivateKey,
    kid: str | None,
    *,
    iss: str,
    event: str = "installed",
    aud: str | list[str] = BASE_URL,
    drop: tuple[str, ...] = (),
    **overrides: Any,
) -> str:
    claims = claims_for(
        iss=iss, method="POST", path=f"/connect/{event}", aud=aud, drop=drop, **overrides
    )
    headers = {"kid": kid} if kid is not None else {}
    return pyjwt.encode(claims, private_key, algorithm="RS256", headers=headers)


def server_token(
    secret: str,
    *,
    iss: str,
    method: str = "GET",
    path: str = "/jira/operations/containers/search",
    query: str = "searchQuery=db",
    algorithm: str = "HS256",
    drop: tuple[str, ...] = (),
    **overrides: Any,
) -> str:
    claims = claims_for(iss=iss, method=method, path=path, query=query, drop=drop, **overrides)
    return pyjwt.encode(claims, secret, algorithm=algorithm)


def lifecycle_body(
    client_key: str,
    *,
    event: str = "installed",
    secret: str | None = None,
    base_url: str = SITE_A,
    **overrides: Any,
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "key": APP_KEY,
        "clientKey": client_key,
        "baseUrl": base_url,
        "displayUrl": base_url,
        "productType": "jira",
        "description": "Atlassian JIRA at " + base_url,
        "serverVersion": "100279",
        "pluginsVersion": "1001.0.0-SNAPSHOT",
        "eventType": event,
    }
    if secret is not None:
        body["sharedSecret"] = secret
    body.update(overrides)
    return {name: value for name, value in body.items() if value is not None}


def tamper(token: str) -> str:
    """Change one claim of a signed token (a later `exp`), keeping the old signature."""
    header, payload, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["exp"] += 60
    return ".".join([header, b64(json.dumps(claims).encode()), signature])


def make_installation(client_key: str, secret: str, **fields) -> Installation:
    """A site installed with our app key and this secret (base URL from the client key)."""
    values = {"base_url": f"https://{client_key}.atlassian.net", "app_key": APP_KEY}
    values.update(fields)
    return factories.make_installation(client_key, secret=secret, **values)


B64URL = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"


def respell(token: str) -> str:
    """The same token with its signature segment written with base64 padding (`==`), which
    PyJWT accepts (some issuers pad) as the very same signature bytes."""
    header, payload, signature = token.split(".")
    padding = "=" * (-len(signature) % 4)
    assert padding, "the signature's length must leave room for padding"
    return ".".join([header, payload, signature + padding])


def flip_stray_bits(token: str) -> str:
    """The same token with the unused low bit of its signature's last character flipped: the
    same bytes for a lenient base64 decoder (older PyJWT releases), another text."""
    header, payload, signature = token.split(".")
    last = B64URL[B64URL.index(signature[-1]) ^ 1]
    return ".".join([header, payload, signature[:-1] + last])


def signed_with_raw_claims(private_key, kid: str, claims_json: str) -> str:
    """An RS256 token over a payload written by hand (e.g. `"exp": "9999999999"`), properly
    signed: the attack needs a valid signature to reach the claim checks."""
    header = b64(json.dumps({"alg": "RS256", "typ": "JWT", "kid": kid}).encode())
    signing_input = f"{header}.{b64(claims_json.encode())}"
    signature = private_key.sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA256())
    return f"{signing_input}.{b64(signature)}"


def hs256_with_raw_claims(secret: str, claims_json: str) -> str:
    """An HS256 token over a payload written by hand, signed with `secret`."""
    header = b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    signing_input = f"{header}.{b64(claims_json.encode())}"
    signature = hmac.new(secret.encode(), signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{b64(signature)}"
