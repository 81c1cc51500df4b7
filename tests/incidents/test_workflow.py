"""Declaring an incident, its timeline, resolution times and its portal page."""

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from incidents.models import Incident, IncidentUpdate, SyncState
from incidents.workflow import add_note, allocate_incident_id, declare_incident
from tests.incidents.factories import (
    make_container,
    make_incident,
    make_installation,
    make_workspace,
)

pytestmark = pytest.mark.django_db


def test_declared_incidents_get_consecutive_ids_with_the_workspace_prefix(ops_user):
    workspace = make_workspace(incident_prefix="OPS")
    first = declare_incident(workspace, "Checkout errors", by=ops_user)
    second = declare_incident(workspace, "Search slow", by=ops_user)
    assert (first.external_id, second.external_id) == ("OPS-1", "OPS-2")


def test_an_id_already_taken_is_skipped():
    workspace = make_workspace()
    make_incident(workspace, external_id="INC-1")
    other = make_workspace()  # same default prefix, its own counter
    make_incident(other, external_id="INC-2")
    assert allocate_incident_id(workspace) == "INC-3"


def test_a_declared_incident_links_to_its_portal_page_and_is_commanded_by_its_declarer(
    ops_user, settings
):
    settings.CONNECT_BASE_URL = "https://ops.example.com/portal"
    incident = declare_incident(make_workspace(), "Checkout errors", by=ops_user)
    assert incident.url == f"https://ops.example.com/portal/incidents/{incident.external_id}/"
    assert incident.commander == ops_user
    assert incident.severity == Incident.Severity.UNKNOWN
    assert incident.status == Incident.Status.OPEN
    declared = incident.updates.get()
    assert (declared.kind, declared.author, declared.message) == (
        IncidentUpdate.Kind.DECLARED,
        ops_user,
        "Checkout errors",
    )


def test_declaring_records_the_incident_for_every_linked_site():
    workspace = make_workspace()
    site = make_installation()
    workspace.link_site(site)
    container = make_container(workspace)
    incident = declare_incident(workspace, "Checkout errors", containers=[container])
    row = SyncState.objects.get(kind="incident", external_id=incident.external_id)
    assert (row.installation_id, row.pending) == (site.pk, True)


def test_a_summary_jira_would_refuse_is_refused_and_nothing_is_declared():
    workspace = make_workspace()
    with pytest.raises(ValidationError) as refused:
        declare_incident(workspace, "x" * 300)
    assert "summary" in refused.value.message_dict
    assert not Incident.objects.exists()
    workspace.refresh_from_db()


def test_status_and_severity_changes_are_recorded_with_old_and_new_values(ops_user):
    incident = make_incident(severity="P3")
    incident.status = Incident.Status.RESOLVED
    incident.severity = Incident.Severity.P1
    incident.changed_by = ops_user
    incident.save()
    entries = {(u.kind, u.old_value, u.new_value, u.author_id) for u in incident.updates.all()}
    assert entries == {
        (IncidentUpdate.Kind.STATUS, "open", "resolved", ops_user.pk),
        (IncidentUpdate.Kind.SEVERITY, "P3", "P1", ops_user.pk),
    }


def test_a_save_that_changes_neither_status_nor_severity_adds_nothing():
    incident = make_incident()
    incident.summary = "Reworded"
    incident.save()
    assert not incident.updates.exists()


def test_the_timeline_entry_is_rolled_back_with_a_failed_save(monkeypatch):
    incident = make_incident()

    def refuse(*args, **kwargs):
        raise RuntimeError("outbox unavailable")

    monkeypatch.setattr("incidents.sync.recording.mark_changed", refuse)
    incident.status = Incident.Status.RESOLVED
    with pytest.raises(RuntimeError, match="outbox unavailable"):
        incident.save()
    monkeypatch.undo()
    assert not IncidentUpdate.objects.exists()
    assert Incident.objects.get(pk=incident.pk).status == Incident.Status.OPEN


def test_resolving_stamps_the_resolution_time_and_reopening_clears_it():
    raised = timezone.now() - timedelta(hours=2)
    incident = make_incident(created_date=raised)
    incident.status = Incident.Status.RESOLVED
    incident.save()
    assert incident.resolved_at is not None
    time_to_resolve = incident.time_to_resolve
    assert time_to_resolve is not None
    assert timedelta(hours=2) <= time_to_resolve < timedelta(hours=2, minutes=1)
    incident.status = Incident.Status.OPEN
    incident.save()
    assert Incident.objects.get(pk=incident.pk).resolved_at is None
    assert incident.time_to_resolve is None


def test_a_note_is_added_to_the_timeline_without_changing_what_jira_holds(ops_user):
    incident = make_incident()
    sequence = incident.update_sequence_number
    note = add_note(incident, "Rolled back the deploy.", by=ops_user)
    assert list(incident.updates.all()) == [note]
    incident.refresh_from_db()
    assert incident.update_sequence_number == sequence


def test_the_incident_page_shows_its_timeline_to_staff(ops_client, ops_user):
    incident = declare_incident(make_workspace(), "Checkout errors", by=ops_user)
    add_note(incident, "Rolled back the deploy.", by=ops_user)
    page = ops_client.get(f"/incidents/{incident.external_id}/")
    assert page.status_code == 200
    assert b"Rolled back the deploy." in page.content
    assert b"Checkout errors" in page.content


def test_the_incident_page_needs_a_staff_login(client):
    incident = make_incident()
    page = client.get(f"/incidents/{incident.external_id}/")
    assert page.status_code == 302
    assert "/admin/login/" in page["Location"]
