"""Plain request/response values passed between the HTTP server and the simulator's handlers.

Keeping HTTP parsing in ``server.py`` and behaviour in handlers that take and return these values
means the handlers can be read (and tested) without a socket.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from urllib.parse import parse_qsl


@dataclass
class Request:
    """One HTTP request as received: ``path`` and ``query`` exactly as on the wire."""

    method: str
    path: str
    query: str = ""
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())

    def params(self) -> list[tuple[str, str]]:
        return parse_qsl(self.query, keep_blank_values=True)

    def param(self, name: str) -> str | None:
        values = [value for key, value in self.params() if key == name]
        return values[-1] if values else None


@dataclass
class Response:
    """An answer, plus what the request log should say about it (never a secret)."""

    status: int
    body: bytes = b""
    content_type: str = "application/json"
    headers: dict[str, str] = field(default_factory=dict)
    #: Close the connection without answering (the request may or may not have been applied).
    drop: bool = False
    delay: float = 0.0
    app_key: str | None = None
    entities: int | None = None
    note: str | None = None

    @classmethod
    def json(cls, status: int, data: object, **kwargs) -> Response:
        return cls(status, json.dumps(data).encode("utf-8"), **kwargs)

    @classmethod
    def errors(cls, status: int, *messages: str, **kwargs) -> Response:
        """Jira's ``ErrorMessages`` body: an array of ``{"message": ...}``."""
        kwargs.setdefault("note", "; ".join(messages))
        return cls.json(status, [{"message": message} for message in messages], **kwargs)

    @classmethod
    def html(cls, status: int, text: str) -> Response:
        return cls(status, text.encode("utf-8"), content_type="text/html; charset=utf-8")

    @classmethod
    def text(cls, status: int, text: str, content_type: str = "text/plain") -> Response:
        return cls(status, text.encode("utf-8"), content_type=f"{content_type}; charset=utf-8")
