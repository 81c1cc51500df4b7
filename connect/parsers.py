"""DRF's JSON parser with `connect.json_bodies` checks, for every DRF endpoint (settings)."""

from __future__ import annotations

from typing import Any

from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser

from . import json_bodies


class SafeJSONParser(JSONParser):
    """A too-deep, non-standard or control-character body is a 400 `parse_error`, never a 500."""

    def parse(self, stream, media_type=None, parser_context=None) -> Any:
        raw = stream.read() if stream is not None else b""
        try:
            return json_bodies.loads(raw)
        except json_bodies.UnsafeJSON as exc:
            raise ParseError(f"JSON parse error - {exc}") from exc
