"""The relay's claim (`incidents.sync.relay.claim`): what it marks, and what it reads."""

from datetime import timedelta

import pytest
from django.db import connection, transaction
from django.utils import timezone

from connect.client import JiraClient
from incidents.models.outbox import SyncState
from incidents.sync.relay import (
    BATCHES_PER_STEP,
    SiteSender,
    StepBudget,
    claim,
    sites_with_due_work,
)
from tests.incidents.factories import make_incident, make_workspace
from tests.sync.conftest import fast_config, install_into, workspace_in_jira

INCIDENT = SyncState.Kind.INCIDENT


@pytest.fixture
def workspace(site):
    return workspace_in_jira(site)


def row_of(incident) -> SyncState:
    return SyncState.objects.get(kind=INCIDENT, external_id=incident.external_id)


@pytest.mark.django_db
def test_a_claimed_incident_is_marked_as_possibly_in_jira_before_anything_is_sent(
    sim, site, workspace
):
    incident = make_incident(workspace)
    assert not row_of(incident).present_in_jira
    requests_before = len(sim.log.entries())

    (claimed,) = claim(site.pk, INCIDENT, 10, "test", fast_config())

    assert len(sim.log.entries()) == requests_before
    assert row_of(incident).present_in_jira  # a worker dying now leaves a delete to send
    assert not claimed.present_in_jira  # the mark as it was: never sent
    assert row_of(incident).claimed_by == "test"


@pytest.mark.django_db
def test_a_claimed_workspace_link_is_not_marked_before_it_is_delivered(sim, site):
    workspace = make_workspace()
    workspace.link_site(site)

    (claimed,) = claim(site.pk, SyncState.Kind.WORKSPACE, 10, "test", fast_config())

    assert claimed.external_id == workspace.external_id
    assert not SyncState.objects.get(pk=claimed.id).present_in_jira


@pytest.mark.django_db
def test_rows_waiting_for_their_workspace_link_are_given_back_as_they_were(sim, site):
    workspace = make_workspace()
    workspace.link_site(site)  # its link is still to be sent: its incidents wait for it
    incident = make_incident(workspace)
    rows = claim(site.pk, INCIDENT, 10, "test", fast_config())

    plan = SiteSender(site, JiraClient(site, max_attempts=1)).plan_entities(INCIDENT, rows)

    assert plan.requests == [] and plan.rows == []
    row = row_of(incident)
    assert (row.pending, row.claimed_until, row.present_in_jira) == (True, None, False)


@pytest.mark.django_db
def test_a_row_changed_while_it_waited_keeps_the_mark_of_its_change(sim, site):
    workspace = make_workspace()
    workspace.link_site(site)
    incident = make_incident(workspace)
    rows = claim(site.pk, INCIDENT, 10, "test", fast_config())
    # Meanwhile a newer change records the entity as possibly held by Jira.
    SyncState.objects.filter(pk=rows[0].id).update(change_token="newer", present_in_jira=True)

    SiteSender(site, JiraClient(site, max_attempts=1)).plan_entities(INCIDENT, rows)

    assert row_of(incident).present_in_jira


def _outbox(site, count: int, kind: str = INCIDENT) -> None:
    now = timezone.now()
    SyncState.objects.bulk_create(
        SyncState(
            installation=site,
            kind=kind,
            external_id=f"{kind[:3]}-{k}",
            changed_at=now + timedelta(microseconds=k),
        )
        for k in range(count)
    )


def _outbox_analyzed_while_pending(site, count: int, kind: str = INCIDENT) -> None:
    """`count` pending rows, and the statistics autovacuum would take of them: every row pending."""
    _outbox(site, count, kind)
    with connection.cursor() as cursor:
        cursor.execute(f"VACUUM ANALYZE {SyncState._meta.db_table}")


def _deliver(ids) -> None:
    """Mark these rows delivered a thousand at a time, as the relay does."""
    ids = list(ids)
    for start in range(0, len(ids), 1_000):
        SyncState.objects.filter(id__in=ids[start : start + 1_000]).update(pending=False)


def _table_scans() -> int:
    """This transaction's sequential scans of the outbox so far."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_stat_get_xact_numscans(%s::regclass)", [SyncState._meta.db_table])
        (scans,) = cursor.fetchone()
    return scans


def _xact_stats() -> tuple[int, int]:
    """This transaction's scans of `sync_claim_idx` so far, and outbox rows fetched by index."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_stat_get_xact_numscans('sync_claim_idx'::regclass), "
            "pg_stat_get_xact_tuples_fetched(%s::regclass)",
            [SyncState._meta.db_table],
        )
        scans, fetched = cursor.fetchone()
    return scans, fetched


@pytest.mark.django_db(transaction=True)
@pytest.mark.postgres
def test_a_claim_after_a_drain_reads_only_pending_rows_even_with_old_statistics(site):
    _outbox_analyzed_while_pending(site, 20_000)
    # Most of the backlog is then delivered, batch by batch as the relay does, before
    # autovacuum takes new statistics.
    _deliver(SyncState.objects.order_by("changed_at", "id").values_list("id", flat=True)[:19_900])
    with connection.cursor() as cursor:
        # The admin's index of every row by change time, as compact as a drain leaves it:
        # PostgreSQL drops the versions a delivery replaced from it as it goes.
        cursor.execute("REINDEX INDEX sync_changed_idx")

    with transaction.atomic():  # the counters below are this transaction's
        scans, fetched = _xact_stats()
        rows = claim(site.pk, INCIDENT, 1_000, "test", fast_config())
        scans_after, fetched_after = _xact_stats()

    assert [row.external_id for row in rows] == [f"inc-{k}" for k in range(19_900, 20_000)]
    assert scans_after == scans + 1  # walked the index of pending rows
    assert fetched_after - fetched < 1_000  # not the 19,900 rows already delivered


@pytest.mark.django_db(transaction=True)
@pytest.mark.postgres
def test_looking_for_due_work_after_a_drain_does_not_read_the_whole_outbox(site):
    _outbox_analyzed_while_pending(site, 20_000)
    _deliver(SyncState.objects.order_by("changed_at", "id").values_list("id", flat=True))

    with transaction.atomic():  # the counters below are this transaction's
        before = _table_scans()
        assert sites_with_due_work() == []
        assert _table_scans() == before


@pytest.mark.django_db(transaction=True)
@pytest.mark.postgres
def test_a_site_with_nothing_due_is_not_looked_for_among_another_sites_backlog(sim, site):
    install_into(sim, "idle")  # nothing due
    _outbox_analyzed_while_pending(site, 20_000)
    _deliver(SyncState.objects.order_by("changed_at", "id").values_list("id", flat=True)[:10_000])

    with transaction.atomic():  # the counters below are this transaction's
        scans, (_, fetched) = _table_scans(), _xact_stats()
        assert sites_with_due_work() == [site.pk]
        scans_after, (_, fetched_after) = _table_scans(), _xact_stats()
    assert scans_after == scans
    assert fetched_after - fetched < 100  # not the busy site's 10,000 due rows


@pytest.mark.django_db(transaction=True)
@pytest.mark.postgres
def test_a_long_drain_asks_whether_other_work_waits_without_reading_the_whole_outbox(site):
    _outbox(site, 10_000)
    _outbox_analyzed_while_pending(site, 10_000, SyncState.Kind.REVIEW)
    # The reviews are delivered; the incidents' step asks whether any other kind waits.
    _deliver(SyncState.objects.filter(kind=SyncState.Kind.REVIEW).values_list("id", flat=True))

    with transaction.atomic():  # the counters below are this transaction's
        before = _table_scans()
        assert StepBudget(site.pk, INCIDENT).allows(BATCHES_PER_STEP)  # nothing else waits
        assert _table_scans() == before
