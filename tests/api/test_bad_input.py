"""Bad input gets a 4xx with a JSON body naming the field, changes nothing, and (once the token
is known) is recorded as a refused delivery."""

import json

import pytest

from incidents.api.parsers import MAX_BODY_BYTES
from incidents.models import Container, Delivery, Incident

from .conftest import body

HOOKS = ["alertmanager", "grafana", "generic"]


def assert_refused(response, status: int, error: str, field: str | None = None) -> dict:
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/json"
    data = response.json()
    assert data["error"] == error, data
    if field is not None:
        assert field in data["fields"], data
    assert not Incident.objects.exists()
    return data


def refusal() -> Delivery:
    delivery = Delivery.objects.get()
    assert delivery.outcome == "refused"
    assert not delivery.incidents.exists()
    return delivery


@pytest.mark.parametrize("hook", HOOKS)
def test_malformed_json_is_a_400_naming_the_body(api, containers, hook):
    response = api.post(f"/api/v1/hooks/{hook}/", '{"status": "firing",')
    assert_refused(response, 400, "parse_error", "body")
    delivery = refusal()
    assert (delivery.status_code, delivery.endpoint) == (400, hook)
    assert "not valid JSON" in json.loads(delivery.error)["detail"]


@pytest.mark.parametrize("hook", HOOKS)
def test_a_nul_character_is_refused_before_it_reaches_the_database(api, containers, hook):
    """PostgreSQL cannot store NUL in text: found by the schema fuzz as a 500."""
    payload = body("alertmanager_firing")
    payload["commonAnnotations"]["summary"] = "Ledger\u0000 down"
    payload["summary"] = "Ledger\u0000 down"
    response = api.post(f"/api/v1/hooks/{hook}/", json.dumps(payload))
    data = assert_refused(response, 400, "parse_error", "body")
    assert "control character" in data["detail"]
    assert refusal().status_code == 400


def test_json_nested_deeper_than_the_limit_is_refused(api, containers):
    response = api.post("/api/v1/hooks/generic/", "[" * 5000 + "]" * 5000)
    data = assert_refused(response, 400, "parse_error", "body")
    assert "deeper" in data["detail"]


def test_nan_is_not_json(api, containers):
    response = api.post("/api/v1/hooks/generic/", '{"dedup_key": NaN}')
    assert_refused(response, 400, "parse_error", "body")


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (lambda b: b.pop("groupKey"), "groupKey"),
        (lambda b: b.update(groupKey=""), "groupKey"),
        (lambda b: b.update(version="3"), "version"),
        (lambda b: b.update(status="exploded"), "status"),
        (lambda b: b.update(alerts={}), "alerts"),
        (lambda b: b.pop("alerts"), "alerts"),
        (lambda b: b["alerts"].append("not an alert"), "alerts.2"),
        (lambda b: b["alerts"][0].update(labels=["x"]), "alerts.0.labels"),
        (lambda b: b["alerts"][1]["labels"].update(severity=5), "alerts.1.labels.severity"),
        (lambda b: b["alerts"][0].update(status="maybe"), "alerts.0.status"),
        (lambda b: b.update(commonLabels="service=x"), "commonLabels"),
        (lambda b: b["commonAnnotations"].update(summary=None), "commonAnnotations.summary"),
    ],
)
def test_wrong_alertmanager_shape_is_a_400_naming_the_field(api, containers, change, field):
    payload = body("alertmanager_firing")
    change(payload)
    response = api.post("/api/v1/hooks/alertmanager/", payload)
    data = assert_refused(response, 400, "invalid", field)
    assert list(data["fields"]) == [field]
    assert refusal().status_code == 400
    assert Container.objects.count() == 3


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"status": "firing", "summary": "x"}, "dedup_key"),
        ({"dedup_key": "k", "summary": "x"}, "status"),
        ({"dedup_key": "k", "status": "firing"}, "summary"),
        ({"dedup_key": "k", "status": "firing", "summary": "  "}, "summary"),
        ({"dedup_key": "k", "status": "firing", "summary": "x" * 256}, "summary"),
        ({"dedup_key": "k", "status": "up", "summary": "x"}, "status"),
        ({"dedup_key": 7, "status": "firing", "summary": "x"}, "dedup_key"),
        ({"dedup_key": "k", "status": "firing", "summary": "x", "severity": 1}, "severity"),
        ({"dedup_key": "k", "status": "firing", "summary": "x", "url": "ftp://x"}, "url"),
        ({"dedup_key": "k", "status": "firing", "summary": "x", "service": ["a"]}, "service"),
        ([], "body"),
        ('"just a string"', "body"),  # raw JSON: a string, not an object
    ],
)
def test_wrong_generic_shape_is_a_400_naming_the_field(api, containers, payload, field):
    response = api.post("/api/v1/hooks/generic/", payload)
    assert_refused(response, 400, "invalid", field)
    refusal()


def test_grafana_org_id_must_be_a_number(api, containers):
    payload = body("grafana_firing")
    payload["orgId"] = "one"
    assert_refused(api.post("/api/v1/hooks/grafana/", payload), 400, "invalid", "orgId")


@pytest.mark.parametrize("hook", HOOKS)
def test_body_over_1_mib_is_a_413(api, containers, hook):
    payload = body("alertmanager_firing")
    payload["commonAnnotations"]["description"] = "x" * MAX_BODY_BYTES
    response = api.post(f"/api/v1/hooks/{hook}/", payload)
    assert_refused(response, 413, "too_large", "body")
    assert refusal().status_code == 413


def test_rest_body_over_1_mib_is_a_413(api, containers):
    response = api.post("/api/v1/incidents/", {"summary": "x", "description": "y" * MAX_BODY_BYTES})
    assert_refused(response, 413, "too_large", "body")


def test_body_of_exactly_1_mib_is_read(api, containers):
    payload = body("alertmanager_firing")
    size = len(json.dumps(payload))
    payload["commonAnnotations"]["runbook"] = "x" * (MAX_BODY_BYTES - size - len(', "runbook": ""'))
    assert len(json.dumps(payload)) == MAX_BODY_BYTES
    assert api.post("/api/v1/hooks/alertmanager/", payload).status_code == 202


@pytest.mark.parametrize("method", ["GET", "PUT", "PATCH", "DELETE", "OPTIONS"])
@pytest.mark.parametrize("hook", HOOKS)
def test_webhooks_refuse_anything_but_post(api, containers, hook, method):
    response = api.generic(method, f"/api/v1/hooks/{hook}/")
    assert_refused(response, 405, "method_not_allowed")
    assert refusal().status_code == 405


@pytest.mark.parametrize("hook", HOOKS)
def test_webhooks_refuse_non_json(api, containers, hook):
    response = api.post(
        f"/api/v1/hooks/{hook}/", "status=firing", content_type="application/x-www-form-urlencoded"
    )
    assert_refused(response, 415, "unsupported_media_type", "body")
    assert refusal().status_code == 415


def test_rest_api_refuses_non_json(api, containers):
    response = api.post("/api/v1/incidents/", "summary=x", content_type="text/plain")
    assert_refused(response, 415, "unsupported_media_type")


def test_refusals_of_unknown_tokens_are_not_recorded_against_anyone(client, integration):
    response = client.post(
        "/api/v1/hooks/alertmanager/",
        "{",
        content_type="application/json",
        headers={"Authorization": "Bearer wrong"},
    )
    assert response.status_code == 401
    assert not Delivery.objects.exists()
