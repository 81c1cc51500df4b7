"""Soak: two worker processes drain a mixed backlog on three Jira sites while about 30 % of the
requests keep failing (500, 503 and 429 with `Retry-After`, lost answers, slow answers), and
Jira ends up holding what the portal holds, with no request inside any `Retry-After`, all while
the faults continue (PostgreSQL only: the workers share the database)."""

import time

import pytest
from django.db import connection
from django.db.models import Q

from incidents.models.outbox import SyncState
from tests.incidents.factories import make_container, make_incident, make_review, make_workspace
from tests.sync.conftest import drain, install_into, jira_view, portal_view
from tests.sync.test_workers import start_worker, stop

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="needs PostgreSQL"),
]

SITES = ("default", "east", "west")
RETRY_AFTER = 1
FAULTS = dict(
    fail_rate=0.14,  # 500, or 503 with Retry-After
    throttle_rate=0.08,  # 429 with Retry-After
    drop_response_rate=0.05,  # applied, then the answer is lost
    slow_rate=0.05,
    slow_ms=300,
    retry_after=RETRY_AFTER,
    seed=13,
)
DEADLINE = 55.0


def seed_site(site):
    """Two workspaces in Jira with incidents and reviews; then a backlog of every kind."""
    kept, dropped = make_workspace(), make_workspace()
    incidents = {}
    for workspace in (kept, dropped):
        container = make_container(workspace)
        incidents[workspace] = [make_incident(workspace, containers=[container]) for _ in range(12)]
        make_review(incidents[workspace][:2])
        workspace.link_site(site)
    return kept, dropped, incidents


def make_backlog(site, kept, dropped, incidents):
    mine = incidents[kept]
    for incident in mine[:5]:
        incident.summary += " (edited)"
        incident.save()
    for incident in mine[5:11]:  # deletes: one request each, then a check
        incident.delete()
    container = kept.containers.first()
    for _ in range(8):
        make_incident(kept, containers=[container])
    make_review(mine[:1], summary="A new review")
    dropped.unlink_site(site)
    added = make_workspace()
    added_container = make_container(added)
    for _ in range(6):
        make_incident(added, containers=[added_container])
    added.link_site(site)
    flapping = make_workspace()
    make_incident(flapping, containers=[make_container(flapping)])
    flapping.link_site(site)
    flapping.unlink_site(site)
    flapping.link_site(site)


def settled() -> bool:
    return not SyncState.objects.filter(Q(pending=True) | Q(verify_at__isnull=False)).exists()


def inside_retry_after(entries: list[dict]) -> list[tuple]:
    """Requests that reached a site before the `Retry-After` of an earlier answer had ended."""
    waits = [
        (e["site"], e["received"] + e["duration_ms"] / 1000)
        for e in entries
        if e["status"] in (429, 503)
    ]
    return [
        (site, round(later["received"] - answered, 3), later["method"], later["path"])
        for site, answered in waits
        for later in entries
        if later["site"] == site and answered < later["received"] < answered + RETRY_AFTER
    ]


def test_two_workers_drain_a_mixed_backlog_on_three_sites_while_jira_keeps_failing(sim):
    sites = {name: install_into(sim, name) for name in SITES}
    seeded = {name: seed_site(site) for name, site in sites.items()}
    drain()
    for name, site in sites.items():
        make_backlog(site, *seeded[name])
    backlog = SyncState.objects.filter(pending=True).count()
    mark = sim.log.entries()[-1]["id"]
    sim.faults.update(**FAULTS)
    env = dict(
        SYNC_BATCH_SIZE=20,
        SYNC_VERIFY_DELETE_SECONDS=1,
        SYNC_CLIENT_ATTEMPTS=2,
        SYNC_LEASE_SECONDS=20,
    )
    workers = [start_worker(f"soak-{n}", **env) for n in range(2)]
    started = time.monotonic()
    try:
        while not settled() and time.monotonic() - started < DEADLINE:
            time.sleep(0.2)
        drained_in = time.monotonic() - started
        assert settled(), f"{backlog} rows: not drained in {DEADLINE:.0f} s"
        # Still under faults: Jira holds what the portal holds, on every site.
        for name, site in sites.items():
            assert jira_view(sim, name) == portal_view(site), name
            linked = sorted(w.external_id for w in site.workspaces.all())
            assert sorted(sim.workspaces(site=name)) == linked, name
        assert sim.faults.faults.fail_rate == FAULTS["fail_rate"]  # still failing
    finally:
        stop(*workers)
    entries = [e for e in sim.log.entries(since=mark) if e["direction"] == "in"]
    faults = [e for e in entries if e["fault"]]
    waits = [e for e in entries if e["status"] in (429, 503)]
    print(
        f"soak: {backlog} pending rows drained in {drained_in:.1f} s with {len(entries)} "
        f"requests, {len(faults)} faults, {len(waits)} answers asking to wait"
    )
    assert len(faults) / len(entries) > 0.2 and len(waits) >= 5  # the faults were real
    assert inside_retry_after(entries) == []
    assert not SyncState.objects.exclude(error="").exists()  # nothing was refused on the way
