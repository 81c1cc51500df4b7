"""How the relay treats an entity staff deleted from Jira but kept in the portal ("withheld"):
a delete is sent instead of the entity, the row is kept to show it, and any newer change wins
over it, also when the change races the relay."""

import pytest

from incidents.models.outbox import SyncState
from incidents.sync import staff as sync_actions
from incidents.sync.relay import Outcome, claim, complete, mark_changed_rows
from tests.incidents.factories import make_incident, make_installation
from tests.sync.conftest import fast_config

pytestmark = pytest.mark.django_db


@pytest.fixture
def incident():
    incident = make_incident()
    site = make_installation()
    incident.workspace.link_site(site)
    SyncState.objects.update(pending=False, present_in_jira=True)
    return incident


def withhold(incident) -> None:
    sync_actions.delete_from_jira("incident", [(incident.external_id, incident.workspace_id)])


def the_row() -> SyncState:
    return SyncState.objects.get(kind="incident")


def claimed(tombstones=False):
    site = the_row().installation_id
    return claim(site, "incident", 10, "test", fast_config(), tombstones=tombstones)


def test_a_withheld_row_is_claimed_as_withheld(incident):
    withhold(incident)
    (row,) = claimed()
    assert row.withheld and row.present_in_jira


def test_a_delivered_delete_keeps_the_withheld_row_without_a_check_when_never_sent(incident):
    withhold(incident)
    SyncState.objects.filter(kind="incident").update(present_in_jira=False)
    (row,) = claimed()
    complete([Outcome(row, delivered=True, present=False)])
    state = the_row()
    assert state.withheld and not state.pending and state.verify_at is None


def test_a_found_back_tombstone_stays_withheld(incident):
    withhold(incident)
    (row,) = claimed()
    complete([Outcome(row, delivered=True, present=False, verify=True)], fast_config())
    (tombstone,) = claimed(tombstones=True)
    mark_changed_rows([tombstone])  # what the relay does when Jira holds it again
    state = the_row()
    assert state.pending and state.withheld and state.present_in_jira


def test_an_edit_racing_the_tombstone_check_wins(incident):
    withhold(incident)
    (row,) = claimed()
    complete([Outcome(row, delivered=True, present=False, verify=True)], fast_config())
    (tombstone,) = claimed(tombstones=True)
    incident.summary = "Edited while the relay checked Jira"
    incident.save()
    mark_changed_rows([tombstone])
    state = the_row()
    assert state.pending and not state.withheld


def test_an_edit_while_the_delete_is_in_flight_sends_the_entity_next(incident):
    withhold(incident)
    (row,) = claimed()
    incident.summary = "Edited while the delete was in flight"
    incident.save()
    complete([Outcome(row, delivered=True, present=False, verify=True)], fast_config())
    state = the_row()
    assert state.pending and not state.withheld


def test_unlinking_the_workspace_turns_a_withheld_row_into_a_plain_tombstone(incident):
    withhold(incident)
    site = the_row().installation
    incident.workspace.unlink_site(site)
    state = the_row()
    assert not state.withheld and not state.pending and state.verify_at is not None
