"""Every refusal of the API and the webhooks as `{"error": code, "detail": why}` with a 4xx, and
`"fields"` naming each offending field (dotted paths into the body, e.g. `alerts.0.labels`)."""

from __future__ import annotations

from typing import Any

from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler


class PayloadTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_code = "too_large"
    default_detail = "The body is too large."


class IdempotencyConflict(exceptions.APIException):
    status_code = status.HTTP_422_UNPROCESSABLE_ENTITY
    default_code = "idempotency_key_reused"
    default_detail = "This Idempotency-Key was already used with a different request."


def flatten(detail: Any, prefix: str = "") -> dict[str, list[str]]:
    """DRF's nested error detail as `{"a.0.b": ["message", ...]}`."""
    if isinstance(detail, dict):
        flat: dict[str, list[str]] = {}
        for key, value in detail.items():
            path = f"{prefix}.{key}" if prefix else str(key)
            if key == "non_field_errors" and prefix:
                path = prefix
            flat.update(flatten(value, path))
        return flat
    if isinstance(detail, list):
        if all(not isinstance(item, dict | list) for item in detail):
            return {prefix or "body": [str(item) for item in detail]} if detail else {}
        flat = {}
        for index, item in enumerate(detail):
            flat.update(flatten(item, f"{prefix}.{index}" if prefix else str(index)))
        return flat
    return {prefix or "body": [str(detail)]}


def error_body(exc: exceptions.APIException) -> dict[str, Any]:
    if isinstance(exc, exceptions.ValidationError):
        fields = flatten(exc.detail)
        names = ", ".join(fields)
        return {"error": "invalid", "detail": f"Invalid input: {names}.", "fields": fields}
    detail = exc.detail
    code = exc.get_codes()
    body: dict[str, Any] = {
        "error": code if isinstance(code, str) else "invalid",
        "detail": str(detail),
    }
    if isinstance(exc, exceptions.ParseError | exceptions.UnsupportedMediaType | PayloadTooLarge):
        body["fields"] = {"body": [str(detail)]}
    return body


def api_exception_handler(exc: Exception, context: dict) -> Response | None:
    response = exception_handler(exc, context)
    if response is None or not isinstance(exc, exceptions.APIException):
        if response is not None and response.status_code == status.HTTP_404_NOT_FOUND:
            response.data = {"error": "not_found", "detail": "Not found."}
        return response
    response.data = error_body(exc)
    return response
