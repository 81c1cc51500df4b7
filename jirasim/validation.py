"""Request validation as Jira does it: the spec's JSON Schemas plus the rules they cannot express.

A request that is malformed as a whole is answered 400 with an ``ErrorMessages`` array; an
individually invalid incident or review only lands in ``failedIncidents`` (``failedReviews``) of
the 202 (spec, POST /bulk, 400 description).
"""

from __future__ import annotations

import re
from datetime import datetime
from functools import cache

from jsonschema import Draft7Validator, FormatChecker

from jirasim import contract


class RequestInvalid(Exception):
    """The request as a whole is refused; ``status`` is 400 or 413, ``messages`` say why."""

    def __init__(self, status: int, *messages: str) -> None:
        super().__init__("; ".join(messages))
        self.status = status
        self.messages = list(messages)


_RFC3339 = re.compile(
    r"^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$", re.ASCII
)
_URI = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*:[^\s\x00-\x1f\x7f<>\"{}|\\^`]*$")

format_checker = FormatChecker(formats=())


@format_checker.checks("date-time")
def _is_rfc3339(value: object) -> bool:
    if not isinstance(value, str):
        return True
    if not _RFC3339.match(value):
        return False
    try:
        datetime.fromisoformat(value.upper().replace("Z", "+00:00"))
    except ValueError:
        return False
    return True


@format_checker.checks("uri")
def _is_absolute_uri(value: object) -> bool:
    return not isinstance(value, str) or bool(_URI.match(value))


def _strict(entity_schema: dict) -> dict:
    """The spec's entity schema, plus the object type its ``severity`` forgets to declare."""
    strict = dict(entity_schema)
    properties = dict(strict["properties"])
    if "severity" in properties:
        properties["severity"] = {**properties["severity"], "type": "object"}
    strict["properties"] = properties
    return strict


@cache
def _validator(name: str) -> Draft7Validator:
    return Draft7Validator(_strict(contract.schema(name)), format_checker=format_checker)


#: Error messages quote the offending value; long values are cut so a response stays small.
_MAX_MESSAGE_LENGTH = 300


def _describe(error) -> str:
    where = ".".join(str(part) for part in error.absolute_path)
    message = f"{where}: {error.message}" if where else error.message
    if len(message) > _MAX_MESSAGE_LENGTH:
        message = message[: _MAX_MESSAGE_LENGTH - 1] + "…"
    return message


def entity_errors(kind: str, entity: object) -> list[str]:
    """Every reason Jira would fail one incident (``kind='Incident'``) or review (``'Review'``)."""
    errors = sorted(_validator(kind).iter_errors(entity), key=lambda e: list(e.absolute_path))
    messages = [_describe(error) for error in errors]
    if isinstance(entity, dict):
        usn = entity.get("updateSequenceNumber")
        if isinstance(usn, int) and not contract.INT64_MIN <= usn <= contract.INT64_MAX:
            messages.append("updateSequenceNumber: must fit in a signed 64-bit integer")
    return messages


def check_properties(properties: object) -> dict[str, str]:
    """Apply the ``properties`` rules of SubmitIncidentsRequest; return them or raise 400."""
    if properties is None:
        return {}
    if not isinstance(properties, dict):
        raise RequestInvalid(400, "properties: must be an object of string values")
    problems = []
    if len(properties) > contract.MAX_PROPERTIES:
        problems.append(
            f"properties: at most {contract.MAX_PROPERTIES} properties may be given, "
            f"got {len(properties)}"
        )
    for key, value in properties.items():
        if ":" in key:
            problems.append(f"properties: key {key!r} must not contain ':'")
        if key.startswith("_"):
            problems.append(f"properties: key {key!r} must not start with '_'")
        if not isinstance(value, str):
            problems.append(f"properties.{key}: value must be a string")
        elif len(value) > contract.MAX_PROPERTY_VALUE_LENGTH:
            problems.append(
                f"properties.{key}: value is longer than {contract.MAX_PROPERTY_VALUE_LENGTH}"
            )
    if problems:
        raise RequestInvalid(400, *problems)
    return dict(properties)


def _check_provider_metadata(metadata: object) -> None:
    if metadata is None:
        return
    if not isinstance(metadata, dict) or set(metadata) - {"product"}:
        raise RequestInvalid(400, "providerMetadata: only the 'product' field is allowed")
    if "product" in metadata and not isinstance(metadata["product"], str):
        raise RequestInvalid(400, "providerMetadata.product: must be a string")


def check_submit_request(body: object) -> tuple[list, list, dict[str, str]]:
    """Check a SubmitIncidentsRequest as a whole; return (incidents, reviews, properties)."""
    if not isinstance(body, dict):
        raise RequestInvalid(400, "the request body must be a JSON object")
    present = [key for key in ("incidents", "reviews") if key in body]
    if not present:
        raise RequestInvalid(400, "the request must contain 'incidents' or 'reviews'")
    for key in present:
        value = body[key]
        if not isinstance(value, list):
            raise RequestInvalid(400, f"{key}: must be an array")
        if len(value) > contract.MAX_ENTITIES_PER_REQUEST:
            raise RequestInvalid(
                413,
                f"{key}: {len(value)} entities; at most {contract.MAX_ENTITIES_PER_REQUEST} "
                "may be submitted in one request. Submit fewer in each payload.",
            )
        if not value:
            raise RequestInvalid(400, f"{key}: must contain at least 1 item")
    properties = check_properties(body.get("properties"))
    _check_provider_metadata(body.get("providerMetadata"))
    return body.get("incidents", []), body.get("reviews", []), properties


def check_workspaces_request(body: object) -> list[str]:
    """Check a SubmitOperationsWorkspacesRequest; return its workspace ids."""
    if not isinstance(body, dict) or "workspaceIds" not in body:
        raise RequestInvalid(400, "workspaceIds: is required")
    ids = body["workspaceIds"]
    if not isinstance(ids, list):
        raise RequestInvalid(400, "workspaceIds: must be an array of strings")
    if len(ids) > contract.MAX_WORKSPACE_IDS_PER_REQUEST:
        raise RequestInvalid(
            413,
            f"workspaceIds: {len(ids)} ids; at most {contract.MAX_WORKSPACE_IDS_PER_REQUEST} "
            "may be submitted in one request. Submit fewer Ids in each payload.",
        )
    if not ids:
        raise RequestInvalid(400, "workspaceIds: must contain at least 1 item")
    if not all(isinstance(item, str) and item for item in ids):
        raise RequestInvalid(400, "workspaceIds: every id must be a non-empty string")
    return ids
