"""Each constraint of the spec's schemas refused as Jira would: 400, 413 or a failed entity."""

import pytest

from tests.jirasim.builders import API, make_incident, make_review

BULK = f"{API}/bulk"
URL_PREFIX = "https://ops.example.com/"
WORKSPACES = f"{API}/linkedWorkspaces/bulk"

INCIDENT_REQUIRED = [
    "schemaVersion", "id", "updateSequenceNumber", "summary", "affectedComponents",
    "description", "url", "createdDate", "lastUpdated", "status",
]  # fmt: skip
REVIEW_REQUIRED = [
    "schemaVersion", "id", "updateSequenceNumber", "summary", "reviews",
    "description", "url", "createdDate", "lastUpdated", "status",
]  # fmt: skip

BAD_INCIDENTS = {
    "schema version 2.0": {"schemaVersion": "2.0"},
    "id of 256 characters": {"summary": "x", "id": "i" * 256},
    "summary of 256 characters": {"summary": "s" * 256},
    "description of 5001 characters": {"description": "d" * 5001},
    "url of 2001 characters": {"url": URL_PREFIX + "u" * (2001 - len(URL_PREFIX))},
    "url that is not a URI": {"url": "not a uri"},
    "createdDate that is not RFC 3339": {"createdDate": "20/11/2026 10:00"},
    "lastUpdated without an offset": {"lastUpdated": "2026-11-20T10:05:00"},
    "lastUpdated in month 13": {"lastUpdated": "2026-13-20T10:05:00Z"},
    "status not in the enum": {"status": "closed"},
    "severity level not in the enum": {"severity": {"level": "P0"}},
    "severity without level": {"severity": {}},
    "severity as a bare string": {"severity": "P1"},
    "no affected component": {"affectedComponents": []},
    "101 affected components": {"affectedComponents": [f"c{i}" for i in range(101)]},
    "affected component not a string": {"affectedComponents": [7]},
    "empty associations": {"associations": []},
    "101 associations": {
        "associations": [{"associationType": "issueIdOrKeys", "values": ["OPS-1"]}] * 101
    },
    "association type not in the enum": {
        "associations": [{"associationType": "issueKeys", "values": ["OPS-1"]}]
    },
    "sequence number not an integer": {"updateSequenceNumber": "12"},
    "sequence number beyond int64": {"updateSequenceNumber": 2**63},
    "unknown field": {"title": "Not part of the schema"},
}
BAD_REVIEWS = {
    "no reviewed incident": {"reviews": []},
    "101 reviewed incidents": {"reviews": [f"INC-{i}" for i in range(101)]},
    "status 'open' (the spec's own example)": {"status": "open"},
    "summary of 256 characters": {"summary": "s" * 256},
    "description of 5001 characters": {"description": "d" * 5001},
    "severity (reviews have none)": {"severity": {"level": "P1"}},
    "affectedComponents (reviews have none)": {"affectedComponents": ["c"]},
    "createdDate not a date-time": {"createdDate": "yesterday"},
}


def failed(response, key, entity_id):
    assert response.status_code == 202, response.text
    return response.json().get(key, {}).get(entity_id)


@pytest.mark.parametrize("field", INCIDENT_REQUIRED)
def test_incident_without_a_required_field_fails(sim, app, field):
    incident = make_incident(**{field: None})
    if field == "id":
        response = app.post(BULK, json={"incidents": [incident]})
        errors = failed(response, "failedIncidents", "[0]")
    else:
        response = app.post(BULK, json={"incidents": [incident]})
        errors = failed(response, "failedIncidents", "INC-1")
    assert errors and field in errors[0]["message"]
    assert sim.incidents() == {}


@pytest.mark.parametrize("change", BAD_INCIDENTS.values(), ids=BAD_INCIDENTS.keys())
def test_invalid_incident_is_listed_in_failed_incidents(sim, app, change):
    incident = make_incident(**change)
    response = app.post(BULK, json={"incidents": [incident, make_incident(id="INC-ok")]})
    assert failed(response, "failedIncidents", incident["id"])
    assert response.json()["acceptedIncidents"] == ["INC-ok"]
    assert list(sim.incidents()) == ["INC-ok"]


@pytest.mark.parametrize("field", REVIEW_REQUIRED)
def test_review_without_a_required_field_fails(sim, app, field):
    response = app.post(BULK, json={"reviews": [make_review(**{field: None})]})
    errors = failed(response, "failedReviews", "[0]" if field == "id" else "PIR-1")
    assert errors and field in errors[0]["message"]
    assert sim.reviews() == {}


@pytest.mark.parametrize("change", BAD_REVIEWS.values(), ids=BAD_REVIEWS.keys())
def test_invalid_review_is_listed_in_failed_reviews(sim, app, change):
    response = app.post(BULK, json={"reviews": [make_review(**change)]})
    assert failed(response, "failedReviews", "PIR-1")
    assert sim.reviews() == {}


def test_values_at_the_limits_are_accepted(sim, app):
    incident = make_incident(
        id="i" * 255,
        summary="s" * 255,
        description="d" * 5000,
        url=URL_PREFIX + "u" * (2000 - len(URL_PREFIX)),
        affectedComponents=[f"c{i}" for i in range(100)],
        severity={"level": "unknown"},
        updateSequenceNumber=2**63 - 1,
    )
    response = app.post(BULK, json={"incidents": [incident]})
    assert response.json() == {"acceptedIncidents": ["i" * 255]}


def test_a_review_covering_one_incident_is_accepted(sim, app):
    response = app.post(BULK, json={"reviews": [make_review(status="outstanding actions")]})
    assert response.status_code == 202
    assert response.json()["acceptedReviews"] == ["PIR-1"]


def assert_error_messages(response, status, fragment):
    assert response.status_code == status, response.text
    body = response.json()
    assert isinstance(body, list) and body, body
    assert all(isinstance(item["message"], str) for item in body)
    assert any(fragment in item["message"] for item in body), body


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ("{not json", "not valid JSON"),
        ("[]", "JSON object"),
        ("{}", "'incidents' or 'reviews'"),
        ('{"incidents": []}', "at least 1"),
        ('{"incidents": {"id": "x"}}', "array"),
        ('{"reviews": []}', "at least 1"),
    ],
)
def test_malformed_submit_request_is_400_with_error_messages(sim, app, body, fragment):
    response = app.request_raw("POST", BULK, body)
    assert_error_messages(response, 400, fragment)
    assert sim.incidents() == {}


@pytest.mark.parametrize(
    ("properties", "fragment"),
    [
        ({f"k{i}": "v" for i in range(6)}, "at most 5"),
        ({"account:id": "v"}, "':'"),
        ({"_internal": "v"}, "'_'"),
        ({"accountId": "v" * 256}, "longer than 255"),
        ({"accountId": 5}, "string"),
        (["accountId"], "object"),
    ],
)
def test_properties_rules_are_enforced_with_400(sim, app, properties, fragment):
    response = app.post(BULK, json={"incidents": [make_incident()], "properties": properties})
    assert_error_messages(response, 400, fragment)
    assert sim.incidents() == {}


def test_five_properties_are_accepted(sim, app):
    properties = {f"k{i}": "v" * 255 for i in range(5)}
    response = app.post(BULK, json={"incidents": [make_incident()], "properties": properties})
    assert response.status_code == 202
    assert sim.properties("INC-1") == properties


def test_provider_metadata_with_an_unknown_field_is_400(sim, app):
    body = {"incidents": [make_incident()], "providerMetadata": {"product": "x", "owner": "me"}}
    assert_error_messages(app.post(BULK, json=body), 400, "providerMetadata")


@pytest.mark.parametrize("kind", ["incidents", "reviews"])
def test_more_than_1000_entities_is_413(sim, app, kind):
    build = make_incident if kind == "incidents" else make_review
    entities = [build(id=f"E-{i}") for i in range(1001)]
    assert_error_messages(app.post(BULK, json={kind: entities}), 413, "at most 1000")
    assert sim.incidents() == {} and sim.reviews() == {}


def test_exactly_1000_incidents_are_accepted(sim, app):
    incidents = [make_incident(id=f"E-{i}") for i in range(1000)]
    response = app.post(BULK, json={"incidents": incidents})
    assert len(response.json()["acceptedIncidents"]) == 1000
    assert len(sim.incidents()) == 1000


def test_more_than_100_workspace_ids_is_413(sim, app):
    ids = [f"ws-{i}" for i in range(101)]
    assert_error_messages(app.post(WORKSPACES, json={"workspaceIds": ids}), 413, "at most 100")
    assert sim.workspaces() == []


def test_exactly_100_workspace_ids_are_accepted(sim, app):
    ids = [f"ws-{i}" for i in range(100)]
    assert app.post(WORKSPACES, json={"workspaceIds": ids}).status_code == 202
    assert sim.workspaces() == ids


@pytest.mark.parametrize(
    ("body", "fragment"),
    [({}, "required"), ({"workspaceIds": []}, "at least 1"), ({"workspaceIds": [1]}, "string")],
)
def test_malformed_workspaces_request_is_400(sim, app, body, fragment):
    assert_error_messages(app.post(WORKSPACES, json=body), 400, fragment)


def test_incident_id_longer_than_255_in_the_path_is_400(sim, app):
    assert_error_messages(app.get(f"{API}/incidents/{'i' * 256}"), 400, "255")
