"""The one JSON parser for request bodies: Jira's lifecycle callbacks and its action calls.

Python's `json` module recurses once per nesting level, so tens of thousands of `[` (well under
any size limit) end in `RecursionError`; it also accepts `NaN`, `Infinity`, duplicate keys (the
last one wins, where another parser may take the first) and escaped control characters such as
`\\u0000`, which PostgreSQL refuses to store in text. So every body is parsed here, and refused
before any view sees it unless it is standard JSON, at most MAX_DEPTH levels deep, without a
repeated key, and without a C0 control character (tab, newline and carriage return aside) in any
string or key.
"""

from __future__ import annotations

import json
import re
from typing import Any

#: Deepest nesting of arrays and objects accepted; Jira's bodies are three or four levels deep.
MAX_DEPTH = 32
#: C0 control characters other than tab, line feed and carriage return.
_FORBIDDEN_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f]")


class UnsafeJSON(ValueError):
    """The body is not JSON this portal accepts; the message says why and is safe to show."""


def loads(body: bytes | str) -> Any:
    """Parse a request body, refusing anything the module docstring describes."""
    try:
        text = body.decode("utf-8") if isinstance(body, bytes) else body
        value = json.loads(text, object_pairs_hook=_unique_keys, parse_constant=_refuse_constant)
    except UnicodeDecodeError as exc:
        raise UnsafeJSON("the body is not UTF-8") from exc
    except RecursionError as exc:
        raise UnsafeJSON(f"the JSON nests deeper than {MAX_DEPTH} levels") from exc
    except UnsafeJSON:
        raise
    except ValueError as exc:
        raise UnsafeJSON(f"the body is not valid JSON: {exc}") from exc
    check_parsed(value)
    return value


def check_parsed(value: Any) -> None:
    """Walk a parsed value without recursing: refuse nesting deeper than MAX_DEPTH and any C0
    control character (tab, newline and carriage return aside) in a string or a key."""
    stack: list[tuple[Any, int, str]] = [(value, 0, "the body")]
    while stack:
        item, depth, where = stack.pop()
        if isinstance(item, str):
            if _FORBIDDEN_CONTROL.search(item):
                raise UnsafeJSON(f"{where} contains a control character")
            continue
        if not isinstance(item, (dict, list)):
            continue
        if depth >= MAX_DEPTH:
            raise UnsafeJSON(f"the JSON nests deeper than {MAX_DEPTH} levels")
        if isinstance(item, dict):
            for key, child in item.items():
                if _FORBIDDEN_CONTROL.search(key):
                    raise UnsafeJSON(f"a key in {where} contains a control character")
                stack.append((child, depth + 1, f"'{key}'" if depth == 0 else where))
        else:
            stack.extend((child, depth + 1, where) for child in item)


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise UnsafeJSON(f"the key {key!r} appears twice in one object")
        result[key] = value
    return result


def _refuse_constant(name: str) -> Any:
    raise UnsafeJSON(f"{name} is not a JSON number")
