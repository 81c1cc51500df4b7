"""The shared JSON loader: standard JSON, bounded depth, no repeated key, no C0 control text."""

import pytest

from connect import json_bodies
from connect.json_bodies import MAX_DEPTH, UnsafeJSON


@pytest.mark.parametrize(
    ("raw", "why"),
    [
        (b"[" * 100_000 + b"]" * 100_000, "nests deeper"),
        (b"[" * (MAX_DEPTH + 1) + b"]" * (MAX_DEPTH + 1), "nests deeper"),
        (b'{"a": ' * (MAX_DEPTH + 1) + b"1" + b"}" * (MAX_DEPTH + 1), "nests deeper"),
        (b'{"a": "x\\u0000"}', "control character"),
        (b'{"a": ["ok", "\\u001f"]}', "control character"),
        (b'{"\\u0008": 1}', "control character"),
        (b'{"a": 1, "a": 1}', "appears twice"),
        (b"[NaN]", "NaN"),
        (b"Infinity", "Infinity"),
        (b"\xff", "UTF-8"),
        (b"{", "not valid JSON"),
    ],
)
def test_hostile_json_is_refused_with_its_reason(raw, why):
    with pytest.raises(UnsafeJSON, match=why):
        json_bodies.loads(raw)


def test_the_deepest_allowed_nesting_and_ordinary_whitespace_escapes_are_accepted():
    deepest = b"[" * MAX_DEPTH + b"]" * MAX_DEPTH
    assert json_bodies.loads(deepest) is not None
    assert json_bodies.loads(b'{"a": "tab\\tnewline\\nreturn\\r", "b": "\\u00e9"}') == {
        "a": "tab\tnewline\nreturn\r",
        "b": "\u00e9",
    }
