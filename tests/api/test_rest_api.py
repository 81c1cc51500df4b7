"""The REST API under /api/v1/incidents/: create, list, read, change, timeline; a token reaches
only its own workspace."""

from datetime import timedelta

import pytest
from django.utils import timezone

from incidents.models import Incident, IncidentUpdate, SyncState
from incidents.workflow import declare_incident

from .conftest import make_integration

NEW = {
    "summary": "Checkout errors above 5%",
    "severity": "P2",
    "description": "Card payments fail **intermittently**.",
    "containers": ["payments-api", "payments/ledger"],
}


def create(api, payload=None, **headers):
    return api.post("/api/v1/incidents/", payload or NEW, headers=headers or None)


def test_post_declares_an_incident_with_a_generated_id(api, containers, integration):
    response = create(api)
    assert response.status_code == 201, response.content
    data = response.json()
    assert data["id"] == "INC-1"
    assert data["url"] == "https://ops.example.com/incidents/INC-1/"
    assert (data["status"], data["severity"]) == ("open", "P2")
    assert data["containers"] == ["payments-api", "payments/ledger"]
    assert data["updated_at"] and data["summary"] == NEW["summary"]
    incident = Incident.objects.get(external_id="INC-1")
    assert incident.workspace == integration[0].workspace
    declared = incident.updates.get()
    assert (declared.kind, declared.source) == ("declared", "Alertmanager: prom")


def test_post_without_containers_is_valid_with_none(api, containers):
    response = create(api, {"summary": "Something is off"})
    assert response.status_code == 201
    assert response.json()["containers"] == []
    assert response.json()["severity"] == "unknown"


def test_created_incident_is_recorded_for_every_linked_site(api, containers, workspace):
    from connect.models import Installation

    site = Installation.objects.create(
        client_key="site-1", base_url="https://one.atlassian.net", shared_secret_encrypted="x"
    )
    workspace.link_site(site)
    create(api)
    assert SyncState.objects.filter(
        kind=SyncState.Kind.INCIDENT, external_id="INC-1", installation=site
    ).exists()


def test_another_workspaces_container_is_a_400_naming_containers(api, containers):
    response = create(api, {**NEW, "containers": ["payments-api", "search-index"]})
    assert response.status_code == 400
    assert response.json()["fields"] == {
        "containers": ["No container 'search-index' in this workspace."]
    }
    assert not Incident.objects.exists()


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"severity": "critical"}, "severity"),
        ({"severity": "P6"}, "severity"),
        ({"status": "closed"}, "status"),
        ({"summary": ""}, "summary"),
        ({"summary": "x" * 256}, "summary"),
        ({"description": "x" * 5001}, "description"),
        ({"containers": "payments-api"}, "containers"),
        ({"containers": [f"c{n}" for n in range(101)]}, "containers"),
    ],
)
def test_bad_fields_are_a_400_naming_them_and_create_nothing(api, containers, change, field):
    response = create(api, {**NEW, **change})
    assert response.status_code == 400, response.content
    assert response.json()["error"] == "invalid"
    assert list(response.json()["fields"]) == [field]
    assert not Incident.objects.exists()


def test_missing_summary_is_a_400_naming_it(api, containers):
    response = create(api, {"severity": "P1"})
    assert response.status_code == 400
    assert response.json()["fields"] == {"summary": ["This field is required."]}


def test_body_that_is_not_an_object_is_a_400(api, containers):
    response = api.post("/api/v1/incidents/", ["summary"])
    assert response.status_code == 400
    assert "body" in response.json()["fields"] or "non_field_errors" in response.json()["fields"]


def test_idempotency_key_replays_the_first_answer(api, containers):
    first = create(api, **{"Idempotency-Key": "deploy-42"})
    again = create(api, **{"Idempotency-Key": "deploy-42"})
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert Incident.objects.count() == 1


def test_idempotency_key_reused_with_another_body_is_a_422(api, containers):
    create(api, **{"Idempotency-Key": "deploy-42"})
    response = create(api, {**NEW, "summary": "Other"}, **{"Idempotency-Key": "deploy-42"})
    assert response.status_code == 422
    assert response.json()["error"] == "idempotency_key_reused"
    assert Incident.objects.count() == 1


def test_failed_post_with_idempotency_key_can_be_retried(api, containers):
    bad = create(api, {**NEW, "severity": "nope"}, **{"Idempotency-Key": "k1"})
    assert bad.status_code == 400
    good = create(api, {**NEW, "severity": "nope"}, **{"Idempotency-Key": "k1"})
    assert good.status_code == 400  # the same bad body is refused again, not replayed from a row
    assert create(api, **{"Idempotency-Key": "k2"}).status_code == 201


def test_idempotency_keys_are_per_integration(api, other_api, containers):
    create(api, **{"Idempotency-Key": "same"})
    response = create(other_api, {"summary": "Theirs"}, **{"Idempotency-Key": "same"})
    assert response.status_code == 201
    assert Incident.objects.count() == 2


def test_dedup_key_returns_the_open_incident(api, containers):
    first = create(api, {**NEW, "dedup_key": "disk-full-db1"})
    second = create(api, {**NEW, "summary": "Again", "dedup_key": "disk-full-db1"})
    assert (first.status_code, second.status_code) == (201, 200)
    assert second.json()["id"] == first.json()["id"]
    api.patch(f"/api/v1/incidents/{first.json()['id']}/", {"status": "resolved"})
    third = create(api, {**NEW, "dedup_key": "disk-full-db1"})
    assert third.status_code == 201 and third.json()["id"] != first.json()["id"]


def test_list_is_paginated_and_filtered(api, containers, workspace, other_workspace):
    for n in range(3):
        declare_incident(workspace, f"open {n}")
    resolved = declare_incident(workspace, "done")
    resolved.status = "resolved"
    resolved.save()
    declare_incident(other_workspace, "not yours")

    everything = api.get("/api/v1/incidents/").json()
    assert everything["count"] == 4
    assert {i["summary"] for i in everything["results"]} == {"open 0", "open 1", "open 2", "done"}
    assert everything["results"][0]["summary"] == "done"  # most recently changed first

    assert api.get("/api/v1/incidents/", {"status": "open"}).json()["count"] == 3
    assert api.get("/api/v1/incidents/", {"status": "resolved"}).json()["count"] == 1
    page = api.get("/api/v1/incidents/", {"page_size": 2}).json()
    assert len(page["results"]) == 2 and page["next"]


def test_updated_since_filters_by_last_change(api, workspace):
    old = declare_incident(workspace, "old")
    Incident.objects.filter(pk=old.pk).update(last_updated=timezone.now() - timedelta(days=2))
    declare_incident(workspace, "new")
    since = (timezone.now() - timedelta(days=1)).isoformat()
    found = api.get("/api/v1/incidents/", {"updated_since": since}).json()
    assert [i["summary"] for i in found["results"]] == ["new"]


@pytest.mark.parametrize(
    ("query", "field"),
    [({"status": "closed"}, "status"), ({"updated_since": "yesterday"}, "updated_since")],
)
def test_bad_list_filters_are_a_400_naming_them(api, db, query, field):
    response = api.get("/api/v1/incidents/", query)
    assert response.status_code == 400
    assert list(response.json()["fields"]) == [field]


def test_get_one_incident(api, containers, workspace):
    incident = declare_incident(workspace, "one", containers=[containers["payments-api"]])
    data = api.get(f"/api/v1/incidents/{incident.external_id}/").json()
    assert (data["id"], data["containers"]) == (incident.external_id, ["payments-api"])


def test_another_workspaces_incident_is_404_everywhere(api, other_workspace, containers):
    theirs = declare_incident(other_workspace, "theirs")
    base = f"/api/v1/incidents/{theirs.external_id}/"
    responses = [
        api.get(base),
        api.patch(base, {"summary": "mine now"}),
        api.get(base + "updates/"),
        api.post(base + "updates/", {"message": "hello"}),
    ]
    assert [r.status_code for r in responses] == [404] * 4
    assert {r.json()["error"] for r in responses} == {"not_found"}
    theirs.refresh_from_db()
    assert theirs.summary == "theirs" and theirs.updates.count() == 1


def test_patch_changes_the_fields_given_and_records_the_timeline(api, containers, workspace):
    incident = declare_incident(workspace, "one", severity="P3")
    response = api.patch(
        f"/api/v1/incidents/{incident.external_id}/",
        {"severity": "P1", "containers": ["payments/ledger"]},
    )
    assert response.status_code == 200, response.content
    assert (response.json()["severity"], response.json()["containers"]) == (
        "P1",
        ["payments/ledger"],
    )
    change = incident.updates.get(kind=IncidentUpdate.Kind.SEVERITY)
    assert (change.old_value, change.new_value, change.source) == ("P3", "P1", "Alertmanager: prom")


def test_patch_with_nothing_or_bad_values_is_a_400(api, containers, workspace):
    incident = declare_incident(workspace, "one")
    url = f"/api/v1/incidents/{incident.external_id}/"
    assert api.patch(url, {}).status_code == 400
    bad = api.patch(url, {"containers": ["search-index"]})
    assert bad.status_code == 400 and list(bad.json()["fields"]) == ["containers"]
    incident.refresh_from_db()
    assert incident.affected_containers.count() == 0


def test_put_and_delete_are_not_allowed(api, workspace):
    incident = declare_incident(workspace, "one")
    url = f"/api/v1/incidents/{incident.external_id}/"
    assert api.generic("PUT", url, b"{}").status_code == 405
    assert api.generic("DELETE", url).status_code == 405
    assert Incident.objects.filter(pk=incident.pk).exists()


def test_updates_list_and_add_with_a_status(api, workspace):
    incident = declare_incident(workspace, "one")
    url = f"/api/v1/incidents/{incident.external_id}/updates/"
    added = api.post(url, {"message": "Rolled back to v41", "status": "resolved"})
    assert added.status_code == 201, added.content
    assert added.json()["message"] == "Rolled back to v41"
    assert added.json()["actor"] == "Alertmanager: prom"
    incident.refresh_from_db()
    assert incident.status == "resolved" and incident.resolved_at is not None
    timeline = api.get(url).json()["results"]
    assert [e["kind"] for e in timeline] == ["declared", "status", "note"]


def test_update_without_message_is_a_400(api, workspace):
    incident = declare_incident(workspace, "one")
    response = api.post(f"/api/v1/incidents/{incident.external_id}/updates/", {"status": "x"})
    assert response.status_code == 400
    assert set(response.json()["fields"]) == {"message", "status"}
    assert incident.updates.count() == 1


def test_update_post_is_idempotent(api, workspace):
    incident = declare_incident(workspace, "one")
    url = f"/api/v1/incidents/{incident.external_id}/updates/"
    for _ in range(2):
        response = api.post(url, {"message": "once"}, headers={"Idempotency-Key": "n1"})
        assert response.status_code == 201
    assert incident.updates.filter(kind="note").count() == 1


def test_token_of_another_workspace_lists_only_its_own(client, workspace, other_workspace):
    declare_incident(workspace, "mine")
    _, token = make_integration(other_workspace, "theirs")
    from .conftest import TokenClient

    assert TokenClient(client, token).get("/api/v1/incidents/").json()["count"] == 0
