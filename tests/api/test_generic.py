"""The generic webhook: dedup_key, summary, status, severity (mapping words or Jira's levels),
service, description, url."""

import pytest

from incidents.models import Incident

HOOK = "/api/v1/hooks/generic/"
FIRING = {
    "dedup_key": "db1-disk",
    "summary": "db1 disk 95% full",
    "status": "firing",
    "severity": "error",
    "service": "payments-api",
    "description": "Volume /var/lib/postgresql",
    "url": "https://grafana.example.com/d/disk",
}


def post(api, payload):
    response = api.post(HOOK, payload)
    assert response.status_code == 202, response.content
    return response.json()["incidents"]


def test_firing_opens_and_resolved_resolves(api, containers):
    (incident_id,) = post(api, FIRING)
    incident = Incident.objects.get(external_id=incident_id)
    assert (incident.summary, incident.severity, incident.url) == (
        "db1 disk 95% full",
        "P2",
        "https://grafana.example.com/d/disk",
    )
    assert [c.external_id for c in incident.affected_containers.all()] == ["payments-api"]
    assert post(api, {"dedup_key": "db1-disk", "status": "resolved"}) == [incident_id]
    incident.refresh_from_db()
    assert incident.status == "resolved"


@pytest.mark.parametrize(
    ("severity", "level"),
    [
        ("critical", "P1"),
        ("high", "P2"),
        ("Warning", "P3"),
        ("info", "P4"),
        ("low", "P4"),
        ("P5", "P5"),
        ("p2", "P2"),
        ("unknown", "unknown"),
        ("whatever", "unknown"),
    ],
)
def test_severity_takes_mapping_words_and_jira_levels(api, containers, severity, level):
    post(api, {**FIRING, "severity": severity})
    assert Incident.objects.get().severity == level


def test_update_without_severity_keeps_the_old_one(api, containers):
    post(api, FIRING)
    post(api, {"dedup_key": "db1-disk", "status": "firing", "summary": "db1 disk 97% full"})
    incident = Incident.objects.get()
    assert (incident.summary, incident.severity) == ("db1 disk 97% full", "P2")
