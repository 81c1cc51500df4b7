"""Checks of a JSON body's shape that name the offending field (a dotted path) in the 400."""

from __future__ import annotations

from typing import Any

from rest_framework.exceptions import ValidationError


def refuse(path: str, message: str) -> ValidationError:
    return ValidationError({path: [message]})


def as_object(value: Any, path: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise refuse(path, "Expected a JSON object.")
    return value


def field(
    body: dict[str, Any],
    name: str,
    kind: type | tuple[type, ...],
    *,
    path: str = "",
    required: bool = False,
    default: Any = None,
) -> Any:
    """`body[name]`, checked to be of `kind`; `default` when absent (or null) and not required."""
    where = f"{path}.{name}" if path else name
    value = body.get(name)
    if value is None:
        if required:
            raise refuse(where, "This field is required.")
        return default
    if not isinstance(value, kind) or (isinstance(value, bool) and bool not in _tuple(kind)):
        raise refuse(where, f"Expected {_describe(kind)}.")
    return value


def string_map(body: dict[str, Any], name: str, *, path: str = "") -> dict[str, str]:
    """An object of strings (labels, annotations); {} when absent."""
    where = f"{path}.{name}" if path else name
    value = field(body, name, dict, path=path, default={})
    for key, item in value.items():
        if not isinstance(item, str):
            raise refuse(f"{where}.{key}", "Expected a string.")
    return value


def one_of(value: str, choices: tuple[str, ...], path: str) -> str:
    if value not in choices:
        raise refuse(path, f"{value!r} is not one of {', '.join(choices)}.")
    return value


def _tuple(kind: type | tuple[type, ...]) -> tuple[type, ...]:
    return kind if isinstance(kind, tuple) else (kind,)


def _describe(kind: type | tuple[type, ...]) -> str:
    names = {str: "a string", dict: "an object", list: "an array", int: "a number"}
    return " or ".join(names.get(k, k.__name__) for k in _tuple(kind))
