"""How the OpenAPI document at /api/schema/ describes the REST API and the webhooks next to
Jira's actions: one document, each operation tagged by who calls it."""

from __future__ import annotations

from drf_spectacular.extensions import OpenApiAuthenticationExtension

TAG_JIRA = "Jira actions"
TAG_INCIDENTS = "Incidents"
TAG_WEBHOOKS = "Alert webhooks"
TAGS = [
    {
        "name": TAG_JIRA,
        "description": "What Jira calls (jiraOperationsInfoProvider), each with a Connect JWT.",
    },
    {
        "name": TAG_INCIDENTS,
        "description": "The REST API for scripts, with an integration's bearer token.",
    },
    {
        "name": TAG_WEBHOOKS,
        "description": "Alertmanager, Grafana and generic alert webhooks, with a bearer token.",
    },
]
_PREFIXES = (
    ("/jira/", TAG_JIRA),
    ("/api/v1/hooks/", TAG_WEBHOOKS),
    ("/api/v1/incidents", TAG_INCIDENTS),
)


def tag_by_caller(result: dict, generator, request, public) -> dict:
    """drf-spectacular postprocessing hook: tag each operation by its path."""
    for route, operations in result.get("paths", {}).items():
        tag = next((t for prefix, t in _PREFIXES if route.startswith(prefix)), None)
        if tag is None:
            continue
        for operation in operations.values():
            if isinstance(operation, dict):
                operation["tags"] = [tag]
    result["tags"] = TAGS
    return result


class IntegrationTokenScheme(OpenApiAuthenticationExtension):
    """`Authorization: Bearer <token>`, an integration's token (docs/api.md)."""

    target_class = "incidents.api.authentication.IntegrationTokenAuthentication"
    name = "bearerToken"

    def get_security_definition(self, auto_schema) -> dict:
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "An integration's token, shown once when it is created.",
        }


def _strings(description: str) -> dict:
    return {
        "type": "object",
        "additionalProperties": {"type": "string"},
        "description": description,
    }


_ALERT = {
    "type": "object",
    "properties": {
        "status": {"type": "string", "enum": ["firing", "resolved"]},
        "labels": _strings("Its labels; `severity` and the container label are read."),
        "annotations": _strings("Its annotations; `summary` and `description` are read."),
        "startsAt": {"type": "string"},
        "endsAt": {"type": "string"},
        "generatorURL": {"type": "string"},
        "fingerprint": {"type": "string"},
    },
}
_GROUP = {
    "groupKey": {"type": "string", "minLength": 1, "description": "One open incident per key."},
    "status": {"type": "string", "enum": ["firing", "resolved"]},
    "receiver": {"type": "string"},
    "groupLabels": _strings("The labels the group is made of."),
    "commonLabels": _strings("Labels all its alerts share."),
    "commonAnnotations": _strings("Annotations all its alerts share."),
    "externalURL": {"type": "string"},
    "truncatedAlerts": {"type": "integer"},
    "alerts": {"type": "array", "items": _ALERT},
}

#: Prometheus Alertmanager's webhook body (version 4).
ALERTMANAGER_BODY = {
    "type": "object",
    "required": ["version", "groupKey", "status", "alerts"],
    "properties": {"version": {"type": "string", "enum": ["4"]}, **_GROUP},
}
#: Grafana alerting's webhook contact point body.
GRAFANA_BODY = {
    "type": "object",
    "required": ["groupKey", "status", "alerts"],
    "properties": {
        "version": {"type": "string"},
        "orgId": {"type": "integer"},
        "title": {"type": "string"},
        "state": {"type": "string"},
        "message": {"type": "string", "description": "Becomes the incident's description."},
        **_GROUP,
    },
}
#: The generic webhook's body.
GENERIC_BODY = {
    "type": "object",
    "required": ["dedup_key", "status"],
    "properties": {
        "dedup_key": {"type": "string", "minLength": 1, "maxLength": 255},
        "status": {"type": "string", "enum": ["firing", "resolved"]},
        "summary": {"type": "string", "maxLength": 255, "description": "Required when firing."},
        "severity": {
            "type": "string",
            "description": "A word of the integration's mapping, or P1…P5 or unknown.",
        },
        "service": {"type": "string", "description": "The affected container, by id or name."},
        "description": {"type": "string", "maxLength": 5000},
        "url": {"type": "string", "format": "uri", "maxLength": 2000},
    },
}
GENERIC_EXAMPLE = {
    "dedup_key": "db1-disk",
    "summary": "db1 disk 95% full",
    "status": "firing",
    "severity": "critical",
    "service": "payments/ledger",
}
ALERTMANAGER_EXAMPLE = {
    "version": "4",
    "groupKey": '{}:{alertname="PaymentsHighErrorRate"}',
    "status": "firing",
    "receiver": "ops-portal",
    "groupLabels": {"alertname": "PaymentsHighErrorRate"},
    "commonLabels": {"alertname": "PaymentsHighErrorRate", "service": "payments-api"},
    "commonAnnotations": {"summary": "Payments API 5xx rate above 5%"},
    "externalURL": "http://alertmanager.example.com:9093",
    "alerts": [
        {
            "status": "firing",
            "labels": {
                "alertname": "PaymentsHighErrorRate",
                "service": "payments-api",
                "severity": "critical",
            },
            "annotations": {"summary": "Payments API 5xx rate above 5%"},
            "startsAt": "2026-11-29T19:58:12.345Z",
            "endsAt": "0001-01-01T00:00:00Z",
            "generatorURL": "http://prometheus.example.com:9090/graph",
            "fingerprint": "3c1f0d1c5b8b8a92",
        }
    ],
}
GRAFANA_EXAMPLE = {
    **ALERTMANAGER_EXAMPLE,
    "version": "1",
    "orgId": 1,
    "title": "[FIRING:1] PaymentsHighErrorRate",
    "state": "alerting",
    "message": "**Firing**",
}
