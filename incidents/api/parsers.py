"""JSON bodies of at most 1 MiB (anything larger is a 413 before more of it is read), held to the
same rules as every other JSON body (`connect.json_bodies`: nesting depth, no NaN, no repeated
keys, no control characters), so nothing PostgreSQL cannot store gets past the parser."""

from __future__ import annotations

from typing import Any

from rest_framework import exceptions
from rest_framework.parsers import BaseParser

from connect import json_bodies
from incidents.api.errors import PayloadTooLarge

MAX_BODY_BYTES = 1024 * 1024


def too_large(size: int | None = None) -> PayloadTooLarge:
    got = f" ({size} bytes)" if size is not None else ""
    return PayloadTooLarge(f"The body is larger than {MAX_BODY_BYTES} bytes (1 MiB){got}.")


class LimitedJSONParser(BaseParser):
    """`application/json` (and `+json` types), at most `MAX_BODY_BYTES`."""

    media_type = "application/json"

    def parse(self, stream, media_type=None, parser_context=None) -> Any:
        request = (parser_context or {}).get("request")
        if request is not None:
            length = request.META.get("CONTENT_LENGTH") or ""
            if length.isdigit() and int(length) > MAX_BODY_BYTES:
                raise too_large(int(length))
        raw = stream.read(MAX_BODY_BYTES + 1) if stream is not None else b""
        if len(raw) > MAX_BODY_BYTES:
            raise too_large()
        try:
            return json_bodies.loads(raw)
        except json_bodies.UnsafeJSON as exc:
            raise exceptions.ParseError(f"The body is not valid JSON: {exc}") from exc
