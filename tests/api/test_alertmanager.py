"""Alertmanager's webhook: one open incident per groupKey, updated by later notifications,
resolved by a resolved one, and a new incident when the group fires again."""

import pytest

from incidents.models import AlertGroup, Container, Delivery, Incident, IncidentUpdate

from .conftest import body

HOOK = "/api/v1/hooks/alertmanager/"


def post(api, payload):
    response = api.post(HOOK, payload)
    assert response.status_code == 202, response.content
    return response.json()["incidents"]


def test_first_firing_notification_opens_a_p1_incident(api, containers, integration):
    (incident_id,) = post(api, body("alertmanager_firing"))
    incident = Incident.objects.get(external_id=incident_id)
    assert incident.summary == "Payments API 5xx rate above 5%"  # commonAnnotations.summary
    assert incident.severity == "P1"  # critical beats warning
    assert incident.status == "open"
    assert [c.external_id for c in incident.affected_containers.all()] == ["payments-api"]
    assert "More than 5% of payment requests fail" in incident.description
    assert "http://prometheus.example.com:9090/graph" in incident.description
    declared = incident.updates.get()
    assert (declared.kind, declared.source) == ("declared", "Alertmanager: prom")
    delivery = Delivery.objects.get()
    assert (delivery.outcome, delivery.status_code, delivery.endpoint) == (
        "created",
        202,
        "alertmanager",
    )
    assert list(delivery.incidents.all()) == [incident]


def test_later_notifications_update_the_same_incident(api, containers):
    first = post(api, body("alertmanager_firing"))
    changed = body("alertmanager_firing")
    for alert in changed["alerts"]:
        alert["labels"]["severity"] = "warning"
    changed["commonAnnotations"]["summary"] = "Payments API 5xx rate above 10%"
    changed["alerts"][1]["labels"]["service"] = "Ledger"  # by name, ignoring case
    assert post(api, changed) == first
    incident = Incident.objects.get()
    assert (incident.summary, incident.severity) == ("Payments API 5xx rate above 10%", "P3")
    assert sorted(c.external_id for c in incident.affected_containers.all()) == [
        "payments-api",
        "payments/ledger",
    ]
    change = incident.updates.get(kind=IncidentUpdate.Kind.SEVERITY)
    assert (change.old_value, change.new_value, change.source) == ("P1", "P3", "Alertmanager: prom")
    assert list(Delivery.objects.order_by("pk").values_list("outcome", flat=True)) == [
        "created",
        "updated",
    ]


def test_repeated_identical_notification_changes_nothing(api, containers):
    post(api, body("alertmanager_firing"))
    incident = Incident.objects.get()
    sequence = incident.update_sequence_number
    post(api, body("alertmanager_firing"))
    incident.refresh_from_db()
    assert incident.update_sequence_number == sequence
    assert [d.outcome for d in Delivery.objects.all()][:1] == ["unchanged"]


def test_resolved_notification_resolves_and_adds_a_timeline_entry(api, containers):
    (incident_id,) = post(api, body("alertmanager_firing"))
    assert post(api, body("alertmanager_resolved")) == [incident_id]
    incident = Incident.objects.get()
    assert incident.status == "resolved" and incident.resolved_at is not None
    kinds = list(incident.updates.values_list("kind", flat=True))
    assert kinds == ["declared", "status", "note"]
    note = incident.updates.get(kind="note")
    assert note.message == "All alerts of the group resolved: PaymentsHighErrorRate."
    assert note.source == "Alertmanager: prom"
    assert not AlertGroup.objects.filter(is_open=True).exists()


def test_group_that_fires_again_after_resolving_opens_a_new_incident(api, containers):
    (first,) = post(api, body("alertmanager_firing"))
    post(api, body("alertmanager_resolved"))
    (second,) = post(api, body("alertmanager_firing"))
    assert second != first
    assert Incident.objects.get(external_id=first).status == "resolved"
    assert Incident.objects.get(external_id=second).status == "open"


def test_resolved_notification_without_open_incident_is_recorded_and_ignored(api, containers):
    assert post(api, body("alertmanager_resolved")) == []
    assert not Incident.objects.exists()
    assert Delivery.objects.get().outcome == "ignored"


def test_incident_resolved_by_staff_lets_the_group_open_a_new_one(api, containers):
    (first,) = post(api, body("alertmanager_firing"))
    incident = Incident.objects.get(external_id=first)
    incident.status = "resolved"
    incident.save()
    (second,) = post(api, body("alertmanager_firing"))
    assert second != first


def test_other_group_keys_open_their_own_incidents(api, containers):
    one = body("alertmanager_firing")
    two = body("alertmanager_firing")
    two["groupKey"] = '{}:{alertname="LedgerLag"}'
    assert post(api, one) != post(api, two)
    assert Incident.objects.count() == 2


def test_same_group_key_of_another_integration_is_another_incident(api, other_api, containers):
    assert post(api, body("alertmanager_firing")) != post(other_api, body("alertmanager_firing"))


@pytest.mark.parametrize(
    ("annotations", "labels", "expected"),
    [
        ({"summary": "From annotations"}, {"alertname": "FromLabels"}, "From annotations"),
        ({}, {"alertname": "FromLabels"}, "FromLabels"),
        ({}, {}, "PaymentsHighErrorRate (+1 more)"),
    ],
)
def test_summary_falls_back_to_alertname(api, containers, annotations, labels, expected):
    payload = body("alertmanager_firing")
    payload["commonAnnotations"], payload["commonLabels"] = annotations, labels
    post(api, payload)
    assert Incident.objects.get().summary == expected


def test_unknown_service_label_creates_the_container(api, containers, workspace):
    payload = body("alertmanager_firing")
    for alert in payload["alerts"]:
        alert["labels"]["service"] = "Fraud Scoring v2"
    payload["commonLabels"].pop("service")
    post(api, payload)
    created = Container.objects.get(name="Fraud Scoring v2")
    assert (created.external_id, created.workspace) == ("fraud-scoring-v2", workspace)
    assert list(Incident.objects.get().affected_containers.all()) == [created]


def test_service_label_naming_another_workspaces_container_creates_one_of_ours(
    api, containers, workspace
):
    payload = body("alertmanager_firing")
    for alert in payload["alerts"]:
        alert["labels"]["service"] = "search-index"
    payload["commonLabels"].pop("service")
    post(api, payload)
    (container,) = Incident.objects.get().affected_containers.all()
    assert container.workspace == workspace
    assert container.external_id.startswith("search-index-")  # ids are unique across workspaces
    assert Container.objects.get(external_id="search-index").workspace.external_id == "search"


def test_container_label_and_severity_mapping_are_per_integration(api, containers, integration):
    record = integration[0]
    record.container_label = "job"
    record.severity_mapping = {"critical": "P2", "warning": "P4"}
    record.save()
    payload = body("alertmanager_firing")
    payload["commonLabels"]["job"] = "Ledger"
    for alert in payload["alerts"]:
        alert["labels"]["job"] = "Ledger"
    post(api, payload)
    incident = Incident.objects.get()
    assert incident.severity == "P2"
    assert [c.external_id for c in incident.affected_containers.all()] == ["payments/ledger"]


def test_unmapped_severity_is_unknown(api, containers):
    payload = body("alertmanager_firing")
    for alert in payload["alerts"]:
        alert["labels"]["severity"] = "page-someone"
    post(api, payload)
    assert Incident.objects.get().severity == "unknown"


def test_new_service_alone_updates_the_incident_for_jira(api, containers):
    post(api, body("alertmanager_firing"))
    incident = Incident.objects.get()
    sequence = incident.update_sequence_number
    payload = body("alertmanager_firing")
    payload["alerts"][1]["labels"]["service"] = "payments/ledger"
    post(api, payload)
    incident.refresh_from_db()
    assert incident.update_sequence_number > sequence
    assert incident.affected_containers.count() == 2
    assert [d.outcome for d in Delivery.objects.all()][:1] == ["updated"]


def test_an_incident_never_gets_more_than_100_containers(api, containers):
    payload = body("alertmanager_firing")
    for n in range(60):
        payload["alerts"].append(
            {"status": "firing", "labels": {"alertname": "A", "service": f"svc-a{n}"}}
        )
    post(api, payload)
    for n in range(60):
        payload["alerts"][2 + n]["labels"]["service"] = f"svc-b{n}"
    post(api, payload)
    assert Incident.objects.get().affected_containers.count() == 100


def test_delivery_record_and_effect_commit_together(api, containers, monkeypatch):
    """If the delivery cannot be recorded, the incident it opened is rolled back with it."""

    def broken(*args, **kwargs):
        raise RuntimeError("delivery table unavailable")

    monkeypatch.setattr(Delivery.objects, "create", broken)
    with pytest.raises(RuntimeError, match="delivery table unavailable"):
        api.post(HOOK, body("alertmanager_firing"))
    assert not Incident.objects.exists()
    assert not AlertGroup.objects.exists()
