"""The generic webhook: `{"dedup_key", "summary", "status": "firing"|"resolved", "severity",
"service", "description", "url"}` → an `AlertNotification`, for tools with neither format."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import URLValidator

from incidents.api.alerts import AlertNotification
from incidents.api.shapes import as_object, field, one_of, refuse
from incidents.models import Integration
from incidents.validators import (
    DESCRIPTION_MAX_LENGTH,
    ENTITY_ID_MAX_LENGTH,
    SUMMARY_MAX_LENGTH,
    URL_MAX_LENGTH,
)

_http_url = URLValidator(schemes=["http", "https"])


def parse(integration: Integration, body: Any) -> AlertNotification:
    """A generic notification; a 400 naming the field if the body is not one."""
    body = as_object(body, "body")
    dedup_key = field(body, "dedup_key", str, required=True).strip()
    if not dedup_key or len(dedup_key) > ENTITY_ID_MAX_LENGTH:
        raise refuse("dedup_key", f"Give 1 to {ENTITY_ID_MAX_LENGTH} characters.")
    status = one_of(field(body, "status", str, required=True), ("firing", "resolved"), "status")
    firing = status == "firing"
    summary = field(body, "summary", str, required=firing, default="").strip()
    if firing and not summary:
        raise refuse("summary", "This field may not be blank.")
    if len(summary) > SUMMARY_MAX_LENGTH:
        raise refuse("summary", f"At most {SUMMARY_MAX_LENGTH} characters.")
    description = field(body, "description", str, default="")
    if len(description) > DESCRIPTION_MAX_LENGTH:
        raise refuse("description", f"At most {DESCRIPTION_MAX_LENGTH} characters.")
    severity = field(body, "severity", str, default="")
    service = field(body, "service", str, default="")
    url = field(body, "url", str, default="")
    if url:
        try:
            _http_url(url)
        except DjangoValidationError:
            raise refuse("url", "Expected an http(s) URL.") from None
        if len(url) > URL_MAX_LENGTH:
            raise refuse("url", f"At most {URL_MAX_LENGTH} characters.")
    return AlertNotification(
        group_key=dedup_key,
        firing=firing,
        summary=summary,
        severity=integration.map_severity(severity) if severity.strip() else "",
        container_names=(service,) if service.strip() else (),
        description=description,
        url=url,
        resolved_note=f"Resolved by {integration.source}.",
    )
