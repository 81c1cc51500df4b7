"""Every change is recorded in the outbox, in the change's own transaction."""

import pytest
from django.db import transaction

from incidents.models import Incident
from incidents.models.outbox import SyncState
from tests.incidents.factories import make_incident, make_installation, make_review, make_workspace

pytestmark = pytest.mark.django_db


def pending(kind="incident"):
    return set(
        SyncState.objects.filter(kind=kind, pending=True).values_list(
            "external_id", "installation_id"
        )
    )


@pytest.fixture
def linked():
    installation = make_installation()
    workspace = make_workspace()
    workspace.link_site(installation)
    return installation, workspace


def test_an_incident_of_an_unlinked_workspace_is_recorded_for_no_site():
    make_incident()
    assert not SyncState.objects.exists()


def test_a_new_incident_is_recorded_for_every_linked_site(linked):
    installation, workspace = linked
    other = make_installation()
    workspace.link_site(other)
    incident = make_incident(workspace)
    assert pending() == {(incident.external_id, installation.pk), (incident.external_id, other.pk)}


def test_ten_edits_coalesce_into_one_row(linked):
    _, workspace = linked
    incident = make_incident(workspace)
    tokens = set()
    for n in range(10):
        incident.summary = f"edit {n}"
        incident.save()
        tokens.add(SyncState.objects.get(kind="incident").change_token)
    assert SyncState.objects.filter(kind="incident").count() == 1
    assert len(tokens) == 10


def test_a_queryset_update_is_recorded(linked):
    _, workspace = linked
    incident = make_incident(workspace)
    SyncState.objects.all().update(pending=False)
    Incident.objects.filter(pk=incident.pk).update(status="resolved")
    assert pending() == {(incident.external_id, linked[0].pk)}


def test_a_change_of_affected_containers_is_recorded(linked):
    _, workspace = linked
    incident = make_incident(workspace)
    SyncState.objects.all().update(pending=False)
    incident.affected_containers.clear()
    assert pending()


def test_a_deleted_incident_is_recorded_so_jira_deletes_it(linked):
    installation, workspace = linked
    incident = make_incident(workspace)
    SyncState.objects.all().update(pending=False)
    external_id = incident.external_id
    incident.delete()
    assert (external_id, installation.pk) in pending()


def test_a_rolled_back_change_records_nothing(linked):
    _, workspace = linked
    with pytest.raises(RuntimeError), transaction.atomic():
        make_incident(workspace)
        raise RuntimeError("crash before commit")
    assert not SyncState.objects.filter(kind="incident").exists()


def test_linking_a_workspace_queues_the_link_and_its_whole_history():
    installation = make_installation()
    workspace = make_workspace()
    incident = make_incident(workspace)
    review = make_review([incident])
    assert not SyncState.objects.exists()
    workspace.link_site(installation)
    assert pending("workspace") == {(workspace.external_id, installation.pk)}
    assert pending("incident") == {(incident.external_id, installation.pk)}
    assert pending("review") == {(review.external_id, installation.pk)}


def test_unlinking_turns_entity_rows_into_tombstones_and_queues_the_unlink(linked):
    installation, workspace = linked
    make_incident(workspace)
    workspace.unlink_site(installation)
    tombstone = SyncState.objects.get(kind="incident")
    assert not tombstone.pending and tombstone.verify_at is not None
    row = SyncState.objects.get(kind="workspace")
    assert row.pending and row.present_in_jira
