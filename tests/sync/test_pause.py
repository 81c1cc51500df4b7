"""A site's pause after a 429 is written to the database before anyone waits, and every worker
reads it before each request: no request reaches a paused site, whatever the number of workers."""

import threading
import time
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from connect.client import JiraClient
from incidents.models.outbox import SiteSyncStatus, SyncState
from incidents.sync import pause
from incidents.sync.pause import SitePause, SitePaused, pause_site
from incidents.sync.relay import relay_once
from tests.incidents.factories import make_container, make_incident, make_workspace
from tests.sync.conftest import fast_config, jira_view, portal_view


def rest_requests(sim) -> list[dict]:
    return [e for e in sim.log.entries() if e["direction"] == "in"]


@pytest.mark.django_db
def test_a_paused_site_gets_no_request_from_a_client_that_honours_the_pause(sim, site):
    until = pause_site(site.pk, 30, "Jira answered 429")
    client = JiraClient(site, send_wrapper=SitePause(site.pk), max_attempts=3)
    with pytest.raises(SitePaused) as refused:
        client.get_workspaces()
    assert refused.value.until == until
    assert rest_requests(sim) == []


@pytest.mark.django_db
def test_a_pause_never_shortens_a_longer_one(site):
    longer = pause_site(site.pk, 600, "first")
    assert pause_site(site.pk, 5, "second") == longer


@pytest.mark.django_db
def test_a_429_pauses_the_site_before_the_worker_waits_and_other_workers_hold_off(sim, site):
    workspace = make_workspace()
    make_incident(workspace)
    workspace.link_site(site)
    sim.faults.update(script=[{"status": 429, "retry_after": 30}])
    config = fast_config(client_attempts=5, client_max_retry_wait=600, backoff_base=1)
    started = time.monotonic()

    relay_once(worker_id="w1", config=config)

    assert time.monotonic() - started < 5  # the worker did not sleep out the 30 s in line
    assert [e["status"] for e in rest_requests(sim)] == [429]
    paused_until = SiteSyncStatus.objects.get(installation=site).paused_until
    assert paused_until is not None and paused_until - timezone.now() > timedelta(seconds=25)
    state = SyncState.objects.get(kind="workspace")
    assert state.attempts == 0 and state.next_attempt_at >= paused_until
    assert "paused" in state.last_attempt_error
    relay_once(worker_id="w2", config=config)
    assert len(rest_requests(sim)) == 1


@pytest.mark.django_db
def test_x_ratelimit_reset_pauses_the_site_too(sim, site):
    workspace = make_workspace()
    workspace.link_site(site)
    sim.faults.update(script=[{"status": 429, "reset_in": 120}])
    relay_once(worker_id="w1", config=fast_config())
    paused_until = SiteSyncStatus.objects.get(installation=site).paused_until
    assert paused_until is not None and paused_until - timezone.now() > timedelta(seconds=100)


def run_workers(names, done, *, deadline: float = 45.0) -> None:
    """Run relay workers in threads (each with its own database connection) until `done()`."""
    stop = threading.Event()
    errors: list[BaseException] = []
    config = fast_config(batch_size=5, backoff_base=0.05, backoff_cap=0.2, client_attempts=2)

    def work(name):
        try:
            while not stop.is_set():
                if not relay_once(worker_id=name, config=config):
                    time.sleep(0.02)
        except BaseException as exc:  # reported by the test below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=work, args=(name,)) for name in names]
    for thread in threads:
        thread.start()
    try:
        limit = time.monotonic() + deadline
        while not done() and time.monotonic() < limit:
            time.sleep(0.05)
    finally:
        stop.set()
        for thread in threads:
            thread.join(30)
    assert not errors, errors
    assert done(), "the workers did not finish in time"


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="needs PostgreSQL")
def test_no_request_reaches_a_paused_site_whatever_the_number_of_workers(sim, site, monkeypatch):
    pauses: list[tuple[float, float]] = []  # (committed at, ends at), both as seen by workers
    original = pause.pause_site

    def recorded(installation_id, seconds, reason):
        until = original(installation_id, seconds, reason)
        pauses.append((time.time(), until.timestamp()))
        return until

    monkeypatch.setattr(pause, "pause_site", recorded)
    workspace = make_workspace()
    container = make_container(workspace)
    incidents = [make_incident(workspace, containers=[container]) for _ in range(50)]
    workspace.link_site(site)
    nothing_pending = lambda: not SyncState.objects.filter(pending=True).exists()  # noqa: E731
    run_workers(["w1"], nothing_pending)
    for incident in incidents[:40]:  # deletes: one request each
        incident.delete()
    for incident in incidents[40:]:
        incident.summary += " (edited)"
        incident.save()
    sim.faults.update(throttle_rate=0.15, fail_rate=0.05, retry_after=1, seed=3)
    mark = sim.log.entries()[-1]["id"]

    run_workers(["w1", "w2"], nothing_pending)

    entries = [e for e in rest_requests(sim) if e["id"] > mark]
    throttled = [e for e in entries if e["status"] in (429, 503)]
    assert len(pauses) >= 3 and len(throttled) >= len(pauses)
    # No request arrived while a pause written by either worker was on.
    inside = [
        (e["received"] - committed, e["method"], e["path"])
        for committed, until in pauses
        for e in entries
        if committed < e["received"] < until
    ]
    assert inside == []
    # Seen from Jira: nothing came inside any Retry-After (one request per site is in flight at
    # a time, so none was already on its way when Jira answered).
    late = [
        (later["received"] - answered, later["path"])
        for e in throttled
        for answered in [e["received"] + e["duration_ms"] / 1000]
        for later in entries
        if answered < later["received"] < answered + 1
    ]
    assert late == []
    sim.faults.update(throttle_rate=0.0, fail_rate=0.0)
    assert jira_view(sim) == portal_view(site)
