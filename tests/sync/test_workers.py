"""Real worker processes against jirasim: killed mid-batch, and two at once (PostgreSQL only:
SQLite ignores SELECT … FOR UPDATE, and a subprocess cannot see pytest's in-memory database)."""

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

from incidents.models.outbox import SyncState
from tests.incidents.factories import make_container, make_incident, make_workspace
from tests.sync.conftest import install_into, jira_view, portal_view

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        connection.vendor != "postgresql", reason="needs PostgreSQL (row locks, shared database)"
    ),
]

ROOT = Path(settings.BASE_DIR)


def worker_env(**extra) -> dict:
    db = connection.settings_dict
    env = dict(os.environ)
    env.update(
        DATABASE_URL=f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        SECRET_KEY=settings.SECRET_KEY,
        SYNC_POLL_SECONDS="0.1",
        SYNC_BACKOFF_BASE_SECONDS="0.2",
        SYNC_BACKOFF_CAP_SECONDS="1",
        **{k: str(v) for k, v in extra.items()},
    )
    return env


def start_worker(name: str, **extra) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "manage.py", "jira_sync", "--worker-id", name],
        cwd=ROOT,
        env=worker_env(**extra),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def wait_until(condition, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.1)
    raise AssertionError("timed out waiting for the workers")


def stop(*processes: subprocess.Popen) -> None:
    for process in processes:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
    for process in processes:
        process.wait(timeout=20)


class SubmittedIds:
    """Which incident ids each bulk submit carried, as jirasim received them."""

    def __init__(self, sim):
        self.lock = threading.Lock()
        self.batches: list[list[str]] = []
        original = sim.handle

        def recording(request):
            if request.method == "POST" and request.path.endswith("/rest/operations/1.0/bulk"):
                with self.lock:
                    body = json.loads(request.body or b"{}")
                    self.batches.append([i["id"] for i in body.get("incidents", [])])
            return original(request)

        sim.handle = recording

    def counts(self) -> Counter:
        with self.lock:
            return Counter(i for batch in self.batches for i in batch)


def seed(site, n: int):
    workspace = make_workspace()
    container = make_container(workspace)
    incidents = [make_incident(workspace, containers=[container]) for _ in range(n)]
    workspace.link_site(site)
    return incidents


def nothing_pending() -> bool:
    return not SyncState.objects.filter(pending=True).exists()


def test_a_worker_killed_mid_batch_loses_nothing(sim, site):
    sim.faults.update(latency_ms=150)
    seed(site, 40)
    seen = SubmittedIds(sim)
    first = start_worker("doomed", SYNC_BATCH_SIZE=5, SYNC_LEASE_SECONDS=2)
    try:
        wait_until(lambda: len(seen.batches) >= 2)
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=10)
    assert SyncState.objects.filter(pending=True).exists()
    second = start_worker("survivor", SYNC_BATCH_SIZE=5, SYNC_LEASE_SECONDS=2)
    try:
        wait_until(nothing_pending)
    finally:
        stop(second)
    assert jira_view(sim) == portal_view(site)


def test_two_workers_share_the_work_without_sending_a_change_twice(sim, site):
    sim.faults.update(latency_ms=50)
    incidents = seed(site, 120)
    other_site = install_into(sim, "second")
    other_workspace = make_workspace()
    make_incident(other_workspace)
    other_workspace.link_site(other_site)
    seen = SubmittedIds(sim)
    workers = [start_worker(f"w{n}", SYNC_BATCH_SIZE=10) for n in range(2)]
    try:
        wait_until(nothing_pending)
    finally:
        stop(*workers)
    counts = seen.counts()
    assert set(counts) >= {i.external_id for i in incidents}
    assert max(counts.values()) == 1, "a pending change was sent twice"
    assert jira_view(sim) == portal_view(site)
    assert jira_view(sim, "second") == portal_view(other_site)
