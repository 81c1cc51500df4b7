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
