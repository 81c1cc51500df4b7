"""A scripted Jira stand-in on 127.0.0.1 that checks the Connect JWT of every request."""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

import jwt as pyjwt
from atlassian_jwt.url_utils import hash_url
from jwt.types import Options


@dataclass
class Reply:
    status: int = 202
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0


@dataclass
class Received:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    claims: dict[str, Any] | None
    problem: str | None

    @property
    def json(self) -> Any:
        return json.loads(self.body) if self.body else None


class FakeJira:
    """Answers from `script` in order (then `default`); verifies JWTs with `secret`."""

    def __init__(self, secret: str, app_key: str, base_path: str = "") -> None:
        self.secret = secret
        self.app_key = app_key
        self.base_path = base_path
        self.script: list[Reply] = []
        self.default = Reply(202, {})
        self.received: list[Received] = []
        self.verify_times = True
        self._lock = threading.Lock()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._httpd.server_address[1]}{self.base_path}"

    def start(self) -> FakeJira:
        jira = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                jira._record(self.command, self.path, dict(self.headers), body)
                reply = jira._next()
                if reply.delay:
                    time.sleep(reply.delay)
                if isinstance(reply.body, bytes):
                    payload = reply.body
                else:
                    payload = b"" if reply.body is None else json.dumps(reply.body).encode()
                self.send_response(reply.status)
                for name, value in reply.headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_POST = do_DELETE = do_PUT = _handle

            def log_message(self, *args: Any) -> None:
                pass

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        ).start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def _next(self) -> Reply:
        with self._lock:
            return self.script.pop(0) if self.script else self.default

    def _record(self, method: str, raw_path: str, headers: dict[str, str], body: bytes) -> None:
        claims, problem = None, None
        auth = headers.get("Authorization", "")
        if not auth.startswith("JWT "):
            problem = "no 'Authorization: JWT' header"
        else:
            options: Options = {"require": ["iss", "iat", "exp", "qsh"]}
            if not self.verify_times:
                options |= {"verify_exp": False, "verify_iat": False}
            try:
                claims = pyjwt.decode(auth[4:], self.secret, algorithms=["HS256"], options=options)
            except pyjwt.PyJWTError as exc:
                problem = f"bad token: {exc}"
        if claims is not None:
            parts = urlsplit(raw_path)
            path = parts.path[len(self.base_path) :] if self.base_path else parts.path
            expected = hash_url(method, path + (f"?{parts.query}" if parts.query else ""))
            if claims["iss"] != self.app_key:
                problem = f"iss is {claims['iss']!r}"
            elif claims["qsh"] != expected:
                problem = "qsh does not match the request"
        with self._lock:
            self.received.append(Received(method, raw_path, headers, body, claims, problem))
