"""Grafana alerting's webhook, with the body from Grafana's documentation."""

from incidents.models import Delivery, Incident

from .conftest import body

HOOK = "/api/v1/hooks/grafana/"


def post(api, payload):
    response = api.post(HOOK, payload)
    assert response.status_code == 202, response.content
    return response.json()["incidents"]


def test_documented_body_opens_an_incident(api, workspace):
    (incident_id,) = post(api, body("grafana_firing"))
    incident = Incident.objects.get(external_id=incident_id)
    # No summary annotation or alertname common to the group: the first alert's, and a count.
    assert incident.summary == "High memory usage (+1 more)"
    assert incident.severity == "unknown"  # the documented alerts carry no severity label
    assert incident.description.startswith("**Firing**")  # Grafana's message
    assert incident.affected_containers.count() == 0  # no `service` label
    assert Delivery.objects.get().endpoint == "grafana"


def test_zone_label_names_the_containers(api, integration, workspace):
    record = integration[0]
    record.container_label = "zone"
    record.save()
    post(api, body("grafana_firing"))
    assert sorted(c.name for c in Incident.objects.get().affected_containers.all()) == [
        "eu-1",
        "us-1",
    ]


def test_firing_again_updates_and_resolved_resolves(api, workspace):
    (incident_id,) = post(api, body("grafana_firing"))
    louder = body("grafana_firing")
    louder["alerts"][0]["labels"]["severity"] = "critical"
    assert post(api, louder) == [incident_id]
    assert Incident.objects.get().severity == "P1"
    assert post(api, body("grafana_resolved")) == [incident_id]
    incident = Incident.objects.get()
    assert incident.status == "resolved"
    assert incident.updates.filter(kind="note").exists()
    (again,) = post(api, body("grafana_firing"))
    assert again != incident_id
