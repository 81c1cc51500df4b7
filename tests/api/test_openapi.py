"""/api/schema/ documents the REST API and the webhooks next to Jira's actions, tagged by
caller, each with the integration's bearer token."""

import pytest

API_PATHS = {
    "/api/v1/incidents/": {"get", "post"},
    "/api/v1/incidents/{incident_id}/": {"get", "patch"},
    "/api/v1/incidents/{incident_id}/updates/": {"get", "post"},
    "/api/v1/hooks/alertmanager/": {"post"},
    "/api/v1/hooks/grafana/": {"post"},
    "/api/v1/hooks/generic/": {"post"},
}


@pytest.fixture
def document(client, db):
    response = client.get("/api/schema/?format=json")
    assert response.status_code == 200
    return response.json()


def test_api_and_webhooks_are_documented_with_their_tags(document):
    paths = {p: ops for p, ops in document["paths"].items() if p.startswith("/api/v1/")}
    assert {p: set(ops) for p, ops in paths.items()} == API_PATHS
    for path, operations in paths.items():
        expected = "Alert webhooks" if "/hooks/" in path else "Incidents"
        for operation in operations.values():
            assert operation["tags"] == [expected]
            assert operation["security"] == [{"bearerToken": []}]
    assert {t["name"] for t in document["tags"]} == {"Jira actions", "Incidents", "Alert webhooks"}


def test_bearer_scheme_is_http_bearer(document):
    scheme = document["components"]["securitySchemes"]["bearerToken"]
    assert (scheme["type"], scheme["scheme"]) == ("http", "bearer")


def test_create_incident_documents_its_fields_and_refusals(document):
    create = document["paths"]["/api/v1/incidents/"]["post"]
    assert {"201", "200", "400", "401", "413", "415", "422"} <= set(create["responses"])
    assert any(p["name"] == "Idempotency-Key" for p in create["parameters"])
    request = document["components"]["schemas"]["IncidentCreate"]
    assert set(request["properties"]) == {
        "summary",
        "description",
        "severity",
        "status",
        "containers",
        "dedup_key",
    }
    assert request["required"] == ["summary"]
    webhook = document["paths"]["/api/v1/hooks/alertmanager/"]["post"]
    assert webhook["responses"]["202"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/WebhookResult"
    }
