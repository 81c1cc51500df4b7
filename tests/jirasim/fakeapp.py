"""A tiny Connect app on a stdlib HTTP server, verifying what jirasim sends it.

It checks lifecycle calls as a careful app must (RS256, key fetched by ``kid`` from the
simulator's install-keys URL, ``aud``, ``iss`` == body clientKey, ``qsh``) and action calls with
the shared secret from ``installed``. The qsh comes from ``atlassian_jwt`` so that jirasim's own
canonicalisation is checked against an independent implementation.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

import jwt
import requests
from atlassian_jwt.url_utils import hash_url

from tests.jirasim.builders import make_descriptor


@dataclass
class Call:
    method: str
    path: str
    query: str
    body: Any  # the parsed JSON body
    claims: dict | None = None
    error: str | None = None

    @property
    def verified(self) -> bool:
        return self.error is None


@dataclass
class FakeApp:
    keys_url: str
    base_path: str = ""
    descriptor_overrides: dict = field(default_factory=dict)
    #: path → status to answer (default 204 for lifecycle, 200 for actions)
    statuses: dict[str, int] = field(default_factory=dict)
    #: path → JSON to answer
    replies: dict[str, object] = field(default_factory=dict)
    #: called with the installed payload while the installed request is being handled
    on_installed: Callable[[Any], object] | None = None
    calls: list[Call] = field(default_factory=list)
    installed: dict | None = None

    def __post_init__(self) -> None:
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}{self.base_path}"

    @property
    def descriptor_url(self) -> str:
        return f"{self.base_url}/atlassian-connect.json"

    @property
    def descriptor(self) -> dict:
        return make_descriptor(self.base_url, **self.descriptor_overrides)

    def calls_to(self, suffix: str) -> list[Call]:
        return [call for call in self.calls if call.path.endswith(suffix)]

    def __enter__(self) -> FakeApp:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()

    # -- verification, as the portal should do it ------------------------------------------

    def relative(self, path: str, query: str) -> str:
        relative = path[len(self.base_path) :] if path.startswith(self.base_path) else path
        return relative + (f"?{query}" if query else "")

    def verify_lifecycle(self, token: str, call: Call) -> dict:
        header = jwt.get_unverified_header(token)
        assert header["alg"] == "RS256", header
        pem = requests.get(f"{self.keys_url}/{header['kid']}", timeout=5)
        assert pem.status_code == 200, pem.status_code
        claims = jwt.decode(
            token,
            pem.text,
            algorithms=["RS256"],
            audience=self.base_url,
            options={"require": ["iss", "iat", "exp", "qsh", "aud"]},
        )
        assert claims["iss"] == call.body["clientKey"], "iss must be the body's clientKey"
        assert claims["qsh"] == hash_url(call.method, self.relative(call.path, call.query))
        return claims

    def verify_action(self, token: str, call: Call) -> dict:
        assert self.installed is not None, "no installed payload yet"
        assert jwt.get_unverified_header(token)["alg"] == "HS256"
        claims = jwt.decode(
            token,
            self.installed["sharedSecret"],
            algorithms=["HS256"],
            options={"require": ["iss", "iat", "exp", "qsh"]},
        )
        assert claims["iss"] == self.installed["clientKey"]
        assert claims["qsh"] == hash_url(call.method, self.relative(call.path, call.query))
        return claims


def _handler(app: FakeApp):
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self._handle()

        do_POST = do_PUT = do_DELETE = do_GET

        def _handle(self) -> None:
            parts = urlsplit(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            if parts.path == urlsplit(app.descriptor_url).path:
                return self._answer(200, app.descriptor)
            call = Call(self.command, parts.path, parts.query, json.loads(raw) if raw else None)
            app.calls.append(call)
            authorization = self.headers.get("Authorization", "")
            lifecycle = parts.path.endswith(("/installed", "/uninstalled"))
            try:
                assert authorization.startswith("JWT "), "no JWT Authorization header"
                token = authorization[4:]
                verify = app.verify_lifecycle if lifecycle else app.verify_action
                call.claims = verify(token, call)
            except (AssertionError, jwt.PyJWTError) as error:
                call.error = f"{error.__class__.__name__}: {error}"
                return self._answer(401, {"error": call.error})
            if parts.path.endswith("/installed"):
                app.installed = call.body
                if app.on_installed:
                    app.on_installed(call.body)
            default = 204 if lifecycle else 200
            status = app.statuses.get(parts.path[len(app.base_path) :], default)
            return self._answer(status, app.replies.get(parts.path[len(app.base_path) :]))

        def _answer(self, status: int, data: object) -> None:
            body = b"" if data is None else json.dumps(data).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args) -> None:
            pass

    return Handler
