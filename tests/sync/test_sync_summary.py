"""Each incident's and review's `sync_flags` summary follows its outbox rows through every writer:
recording (one entity or a bulk update), staff actions, unlinking, and the relay."""

from __future__ import annotations

import itertools

import pytest
from django.db import transaction

from incidents.models import Incident, PostIncidentReview
from incidents.models.outbox import (
    SYNC_ANY_ROW,
    SYNC_FAILED,
    SYNC_PENDING,
    SYNC_RETRYING,
    SYNC_WITHHELD,
    SyncState,
    mark_changed,
    refresh_sync_summary,
)
from incidents.sync import staff
from tests.incidents.factories import make_incident, make_installation, make_review, make_workspace
from tests.sync.conftest import drain, fast_config

pytestmark = pytest.mark.django_db

PENDING = SYNC_ANY_ROW | SYNC_PENDING


def expected_flags(rows) -> int:
    """The summary, worked out in Python from the rows (the definition the SQL must follow)."""
    flags = 0
    for row in rows:
        flags |= SYNC_ANY_ROW
        if row.error:
            flags |= SYNC_FAILED
        elif row.pending:
            flags |= SYNC_RETRYING if row.last_attempt_error else SYNC_PENDING
        if row.withheld and not row.pending:
            flags |= SYNC_WITHHELD
    return flags


def flags_of(entity) -> int:
    return type(entity).objects.values_list("sync_flags", flat=True).get(pk=entity.pk)


def rows_of(entity, kind="incident"):
    return list(SyncState.objects.filter(kind=kind, external_id=entity.external_id))


@pytest.fixture
def linked():
    sites = [make_installation(), make_installation()]
    workspace = make_workspace()
    for site in sites:
        workspace.link_site(site)
    return workspace, sites


ROW_STATES: dict[str, dict[str, object]] = {
    "synced": dict(pending=False, present_in_jira=True),
    "pending": dict(pending=True),
    "retrying": dict(pending=True, last_attempt_error="503"),
    "failed": dict(pending=False, error="Jira refused: too long"),
    "failed, withheld": dict(pending=False, error="refused", withheld=True),
    "withheld": dict(pending=False, withheld=True),
    "withheld, pending": dict(pending=True, withheld=True),
    "tombstone": dict(pending=False, verify_at="2030-01-01T00:00:00Z"),
}


@pytest.mark.parametrize(
    ("first", "second"), list(itertools.combinations_with_replacement(ROW_STATES, 2))
)
def test_the_summary_of_two_sites_follows_their_rows(linked, first, second):
    _, (a, b) = linked
    incident = make_incident(linked[0])
    base = dict(pending=False, error="", last_attempt_error="", withheld=False, verify_at=None)
    for site, state in ((a, first), (b, second)):
        SyncState.objects.filter(installation=site, external_id=incident.external_id).update(
            **{**base, **ROW_STATES[state]}
        )
    refresh_sync_summary("incident", [incident.external_id])
    assert flags_of(incident) == expected_flags(rows_of(incident))


def test_an_entity_of_an_unlinked_workspace_stays_never_sent():
    incident = make_incident()
    Incident.objects.filter(pk=incident.pk).update(status="resolved")
    assert flags_of(incident) == 0


def test_a_new_incident_and_review_are_pending(linked):
    incident = make_incident(linked[0])
    review = make_review([incident], workspace=linked[0])
    assert flags_of(incident) == PENDING
    assert flags_of(review) == PENDING


def test_a_bulk_update_leaves_every_summary_pending_and_others_alone(linked):
    workspace, _ = linked
    incidents = [make_incident(workspace) for _ in range(5)]
    unlinked = make_incident()
    SyncState.objects.update(pending=False, present_in_jira=True, error="refused")
    refresh_sync_summary("incident")
    assert {flags_of(i) for i in incidents} == {SYNC_ANY_ROW | SYNC_FAILED}
    Incident.objects.filter(workspace=workspace).exclude(pk=incidents[0].pk).update(
        status="resolved"
    )
    assert flags_of(incidents[0]) == SYNC_ANY_ROW | SYNC_FAILED
    assert [flags_of(i) for i in incidents[1:]] == [PENDING] * 4
    assert flags_of(unlinked) == 0
    for incident in incidents:
        assert flags_of(incident) == expected_flags(rows_of(incident))


def test_a_rolled_back_update_leaves_the_summary_as_it_was(linked):
    incident = make_incident(linked[0])
    SyncState.objects.update(pending=False, present_in_jira=True)
    refresh_sync_summary("incident")
    with pytest.raises(RuntimeError), transaction.atomic():
        Incident.objects.filter(pk=incident.pk).update(status="resolved")
        raise RuntimeError("crash before commit")
    assert flags_of(incident) == SYNC_ANY_ROW


def test_delete_from_jira_then_send_now_move_the_summary(linked):
    incident = make_incident(linked[0])
    SyncState.objects.update(pending=False, present_in_jira=True)
    refresh_sync_summary("incident")
    staff.delete_from_jira("incident", [(incident.external_id, incident.workspace_id)])
    assert flags_of(incident) == PENDING  # the delete is on its way
    SyncState.objects.update(pending=False)
    refresh_sync_summary("incident")
    assert flags_of(incident) == SYNC_ANY_ROW | SYNC_WITHHELD
    staff.send_now("incident", [(incident.external_id, incident.workspace_id)])
    assert flags_of(incident) == PENDING


def test_unlinking_turns_the_summary_into_delivered_tombstones(linked):
    workspace, sites = linked
    incident = make_incident(workspace)
    for site in sites:
        workspace.unlink_site(site)
    assert flags_of(incident) == SYNC_ANY_ROW
    assert flags_of(incident) == expected_flags(rows_of(incident))


def test_mark_changed_counts_the_rows_it_marked(linked):
    _, (a, b) = linked
    review = make_review([make_incident(linked[0])], workspace=linked[0])
    marked = mark_changed("review", {review.external_id: [a.pk, b.pk, a.pk]}, withheld=True)
    assert marked == 2
    assert flags_of(review) == PENDING
    assert flags_of(PostIncidentReview.objects.get(pk=review.pk)) == PENDING


def test_the_relay_keeps_the_summary(sim, site):
    workspace = make_workspace()
    workspace.link_site(site)
    good = make_incident(workspace)
    bad = make_incident(workspace)
    Incident.objects.filter(pk=bad.pk).update(description="x" * 5001)
    assert flags_of(good) == flags_of(bad) == PENDING
    drain()
    assert flags_of(good) == SYNC_ANY_ROW
    assert flags_of(bad) == SYNC_ANY_ROW | SYNC_FAILED
    good.summary = "changed"
    good.save()
    sim.faults.update(fail_rate=1.0, fail_statuses=(503,))
    drain(fast_config(backoff_base=60, backoff_cap=60))
    assert flags_of(good) == SYNC_ANY_ROW | SYNC_RETRYING
    for incident in (good, bad):
        assert flags_of(incident) == expected_flags(rows_of(incident))
