"""A batch on the wire while the next is claimed and read (`incidents.sync.relay.OverlappedSends`).

PostgreSQL only, outside a transaction, as the worker runs: the sending thread has its own
database connection, which must see the rows the test writes.
"""

import json
import threading
import time

import pytest
from django.db import connection, connections, transaction

from connect.client import JiraClient
from incidents.models import Incident, SiteSyncStatus
from incidents.models.outbox import SyncState
from incidents.sync import relay
from incidents.sync.relay import RelayConfig, can_overlap, claim, relay_once
from tests.incidents.factories import make_container, make_incident
from tests.sync.conftest import drain, fast_config, jira_view, portal_view, workspace_in_jira

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgres]

BULK = "/rest/operations/1.0/bulk"


@pytest.fixture
def workspace(site):
    return workspace_in_jira(site)


def seed(workspace, n: int) -> list[Incident]:
    container = make_container(workspace)
    return [make_incident(workspace, containers=[container]) for _ in range(n)]


def bulk_posts(sim) -> list[dict]:
    return [e for e in sim.log.entries() if e["method"] == "POST" and e["path"].endswith(BULK)]


class Timeline:
    """When each bulk request was out (as the client saw it), and when each claim ran."""

    def __init__(self, monkeypatch):
        self.lock = threading.Lock()
        self.requests: list[tuple[float, float]] = []
        self.claims: list[float] = []
        original_submit, original_claim = JiraClient.submit_encoded, relay.claim

        def timed_submit(client, *args, **kwargs):
            started = time.monotonic()
            try:
                return original_submit(client, *args, **kwargs)
            finally:
                with self.lock:
                    self.requests.append((started, time.monotonic()))

        def timed_claim(*args, **kwargs):
            with self.lock:
                self.claims.append(time.monotonic())
            return original_claim(*args, **kwargs)

        monkeypatch.setattr(JiraClient, "submit_encoded", timed_submit)
        monkeypatch.setattr(relay, "claim", timed_claim)

    def claims_during_requests(self) -> int:
        return sum(
            1 for moment in self.claims for start, end in self.requests if start < moment < end
        )


def test_the_next_batch_is_claimed_while_a_batch_is_on_the_wire(sim, site, workspace, monkeypatch):
    seed(workspace, 30)
    sim.faults.update(latency_ms=300)
    timeline = Timeline(monkeypatch)
    relay_once(worker_id="test", config=fast_config(batch_size=10))
    assert len(timeline.requests) == 3
    assert timeline.claims_during_requests() >= 2
    assert not SyncState.objects.filter(pending=True).exists()
    assert jira_view(sim) == portal_view(site)


def test_without_overlap_nothing_is_claimed_while_a_request_is_out(
    sim, site, workspace, monkeypatch
):
    seed(workspace, 30)
    sim.faults.update(latency_ms=100)
    timeline = Timeline(monkeypatch)
    relay_once(worker_id="test", config=fast_config(batch_size=10, overlap_sends=False))
    assert len(timeline.requests) == 3
    assert timeline.claims_during_requests() == 0
    assert jira_view(sim) == portal_view(site)


def test_a_large_backlog_still_goes_in_full_batches(sim, site, workspace):
    seed(workspace, 95)
    before = len(bulk_posts(sim))
    drain(fast_config(batch_size=10))
    assert len(bulk_posts(sim)) - before == 10
    assert jira_view(sim) == portal_view(site)


def test_a_backlog_with_nothing_else_waiting_drains_in_one_round(sim, site, workspace):
    seed(workspace, 10 * relay.BATCHES_PER_STEP + 5)
    handled = relay_once(worker_id="test", config=fast_config(batch_size=5))
    assert handled == 10 * relay.BATCHES_PER_STEP + 5
    assert jira_view(sim) == portal_view(site)


def test_rows_given_back_to_wait_and_claimed_again_stay_claimed_while_they_are_sent(
    sim, site, workspace, monkeypatch
):
    """A batch's rows that wait for their workspace's link are given back, and the next batch
    (claimed before the first one's outcomes are recorded) may take them again. Recording the
    first batch must not give them back a second time while they are on the wire: another
    worker would send them too."""
    incidents = seed(workspace, 5)
    link = SyncState.objects.get(kind=SyncState.Kind.WORKSPACE)
    calls = {"n": 0}
    original = relay.SiteSender._unsettled_workspaces

    def unsettled_the_first_time(self, external_ids):
        calls["n"] += 1
        if calls["n"] == 1:
            return {workspace.external_id: link.changed_at}
        return original(self, external_ids)

    monkeypatch.setattr(relay.SiteSender, "_unsettled_workspaces", unsettled_the_first_time)
    taken_by_another_worker: list[list] = []
    original_handle = sim.handle

    def handle(request):
        response = original_handle(request)
        if request.method == "POST" and request.path.endswith(BULK):
            time.sleep(0.3)  # the relay's thread records the first batch meanwhile
            try:
                rows = claim(site.pk, SyncState.Kind.INCIDENT, 10, "another", RelayConfig())
            finally:
                connections.close_all()  # this thread's own connection
            taken_by_another_worker.append(rows)
        return response

    sim.faults.update(latency_ms=0)
    monkeypatch.setattr(sim, "handle", handle)
    relay_once(worker_id="test", config=fast_config(batch_size=5))
    assert calls["n"] >= 2
    assert taken_by_another_worker == [[]]
    assert set(sim.incidents()) == {i.external_id for i in incidents}


def test_a_pause_heard_on_one_batch_stops_the_next_before_it_leaves(sim, site, workspace):
    seed(workspace, 20)
    sim.faults.update(script=[{"status": 429, "retry_after": 60}], latency_ms=200)
    relay_once(worker_id="test", config=fast_config(batch_size=10))
    assert len(bulk_posts(sim)) == 1  # the 429; the second batch never left
    assert SiteSyncStatus.objects.get(installation=site).paused_until is not None
    rows = SyncState.objects.filter(kind=SyncState.Kind.INCIDENT)
    assert rows.filter(pending=True).count() == 20
    assert not rows.filter(claimed_until__isnull=False).exists()
    assert not rows.filter(attempts__gt=0).exists()  # a pause is not the rows' fault


def test_a_failed_batch_stops_the_step_after_the_batch_already_started(sim, site, workspace):
    seed(workspace, 50)
    sim.faults.update(script=[{"status": 503}])
    relay_once(worker_id="test", config=fast_config(batch_size=10))
    assert len(bulk_posts(sim)) == 2  # the failed one, and the one already queued behind it
    rows = SyncState.objects.filter(kind=SyncState.Kind.INCIDENT)
    assert rows.filter(pending=True).count() == 40
    assert rows.filter(attempts=1).count() == 10
    assert not rows.filter(claimed_until__isnull=False).exists()
    drain()
    assert jira_view(sim) == portal_view(site)


def test_overlap_needs_autocommit():
    config = fast_config()
    assert can_overlap(config)
    assert not can_overlap(fast_config(overlap_sends=False))
    with transaction.atomic():
        assert not can_overlap(config)
    assert connection.vendor == "postgresql"


def test_rows_are_marked_as_possibly_in_jira_before_their_submit_leaves(sim, site, workspace):
    seed(workspace, 12)
    unmarked_when_sent: list[int] = []
    original_handle = sim.handle

    def handle(request):
        if request.method == "POST" and request.path.endswith(BULK):
            sent = [incident["id"] for incident in json.loads(request.body)["incidents"]]
            try:
                unmarked_when_sent.append(
                    SyncState.objects.filter(
                        kind=SyncState.Kind.INCIDENT, external_id__in=sent, present_in_jira=False
                    ).count()
                )
            finally:
                connections.close_all()
        return original_handle(request)

    sim.handle = handle
    relay_once(worker_id="test", config=fast_config(batch_size=6))
    assert unmarked_when_sent == [0, 0]
