"""Benchmark: the relay draining N changes to jirasim, against the floor and per-change sending.

    .venv/bin/python bench/sync.py [--n 100000] [--database-url postgres://postgres@127.0.0.1/test]
                                   [--sites 1] [--workers 1] [--jira-latency-ms 0]
                                   [--drains 2] [--sample 1000]

It never touches an existing database: with `--database-url` it creates
`bench_sync_<pid>_<random>` on that server (and drops it at the end); without, a temporary
SQLite file (`bench/support.py`).

What it measures, all in one run:

- **recording**: N incidents created in bulk, each recorded in the outbox, then (PostgreSQL)
  `VACUUM ANALYZE`, as autovacuum would do before a real backlog drains;
- **relay**: `--workers` worker processes (`manage.py jira_sync`) drain the backlog to jirasim
  over HTTP, `--drains` times (every drain after the first re-records all N by a queryset
  `update()`), with each drain's time and requests, and each worker's peak RSS over all drains;
- **scale-out** (with `--workers` > 1): the same drain with one worker first, then the ratio;
- **floor**: one SELECT of the same rows through the database driver (no Django), the same
  payloads built with plain dicts, JSON-encoded and POSTed in the same batches to the same
  jirasim with `requests`: what any relay must at least spend;
- **per change**: `--sample` changes sent one request each (as a save hook calling Jira would),
  scaled to N.

With `--jira-latency-ms`, jirasim answers every Operations call that much later (real Jira takes
100 ms or more), which is where several workers pay off.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.support import configure_django, scratch_database, scratch_database_url  # noqa: E402

BATCH = 1000


# --- A database of the bench's own ------------------------------------------------------------


@contextmanager
def scratch_database_in(server_url: str, scratch: str) -> Iterator[None]:
    configure_django(server_url, scratch)
    with scratch_database("sync", scratch):
        yield


# --- The data ---------------------------------------------------------------------------------


def create_changes(n: int, sites: list) -> list[str]:
    """N incidents over one workspace per site (each linked to its site), recorded in bulk."""
    from django.db import transaction

    from incidents.models import Container, Incident, Workspace

    workspaces = []
    for s, site in enumerate(sites):
        workspace = Workspace.objects.create(
            external_id=f"bench-{s}", name=f"Bench {s}", url=f"https://ops.example.com/b/{s}"
        )
        containers = Container.objects.bulk_create(
            Container(
                workspace=workspace,
                external_id=f"svc-{s}-{k}",
                name=f"Service {s}-{k}",
                url=f"https://ops.example.com/svc/{s}/{k}",
            )
            for k in range(10)
        )
        workspace.link_site(site)
        workspaces.append((workspace, containers))
    through = Incident.affected_containers.through
    for start in range(0, n, 5000):
        with transaction.atomic():
            batch = range(start, min(n, start + 5000))
            created = Incident.objects.bulk_create(
                Incident(
                    external_id=f"inc-{k}",
                    workspace=workspaces[k % len(sites)][0],
                    summary=f"Incident {k}: latency on checkout",
                    description="Customers see timeouts. " * 4,
                    url=f"https://ops.example.com/i/{k}",
                    severity="P2",
                )
                for k in batch
            )
            through.objects.bulk_create(
                through(
                    incident_id=incident.pk,
                    container_id=workspaces[k % len(sites)][1][k // len(sites) % 10].pk,
                )
                for k, incident in zip(batch, created, strict=True)
            )
    return [workspace.external_id for workspace, _ in workspaces]


def rerecord_all(round_number: int) -> None:
    """Change every incident (a queryset update, recorded in the outbox) for the next drain."""
    from incidents.models import Incident

    Incident.objects.update(summary=f"Latency on checkout, round {round_number}")


def settle() -> None:
    """`VACUUM ANALYZE` after a bulk write (PostgreSQL), as autovacuum would soon do: a backlog
    left by a Jira outage builds up over minutes, not in one bulk statement just before the
    drain, and the floor, measured last, reads tables already settled by then."""
    from django.db import connection

    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE")


def backlog() -> int:
    from incidents.models import SyncState

    return SyncState.objects.filter(pending=True).count()


# --- Workers ----------------------------------------------------------------------------------


@contextmanager
def held_back(boot_seconds: float = 5.0) -> Iterator[None]:
    """Pause every site while workers start or the next drain is recorded, so a drain's time
    excludes both."""
    from datetime import timedelta

    from django.utils import timezone

    from connect.models import Installation
    from incidents.models import SiteSyncStatus

    for installation in Installation.objects.all():
        SiteSyncStatus.objects.update_or_create(
            installation=installation,
            defaults={"paused_until": timezone.now() + timedelta(hours=1)},
        )
    yield
    time.sleep(boot_seconds)
    SiteSyncStatus.objects.update(paused_until=None)


def start_workers(count: int, database_url: str) -> list[subprocess.Popen]:
    """Worker processes, started while every site is paused; the drain starts on release."""
    env = dict(os.environ, DATABASE_URL=database_url, SYNC_POLL_SECONDS="0.05")
    with held_back():
        return [
            subprocess.Popen(
                [sys.executable, "manage.py", "jira_sync", "--worker-id", f"bench-{k}"],
                cwd=ROOT,
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            for k in range(count)
        ]


def stop_workers(workers: list[subprocess.Popen]) -> None:
    for worker in workers:
        worker.send_signal(signal.SIGTERM)
    for worker in workers:
        worker.wait(timeout=120)


def peak_rss_mib(worker: subprocess.Popen) -> float:
    """The process's peak resident set so far (Linux VmHWM)."""
    for line in Path(f"/proc/{worker.pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def drain(workers: list[subprocess.Popen], timeout: float = 3600) -> float:
    """Seconds until the outbox has nothing pending (the workers are already polling)."""
    started = time.perf_counter()
    deadline = started + timeout
    while backlog():
        if any(worker.poll() is not None for worker in workers):
            sys.exit("FAIL: a worker exited during the drain")
        if time.perf_counter() > deadline:
            sys.exit(f"FAIL: the backlog did not drain in {timeout:.0f} s")
        time.sleep(0.05)
    return time.perf_counter() - started


def bulk_requests(sim) -> int:
    return sum(
        1 for e in sim.log.entries() if e["method"] == "POST" and e["path"].endswith("/1.0/bulk")
    )


# --- The floor: the same work with no Django --------------------------------------------------

FLOOR_SQL = """
SELECT i.external_id, i.summary, i.description, i.url, i.severity, i.status, i.created_date,
       i.last_updated, i.update_sequence_number, w.external_id, {agg} AS containers
FROM incidents_incident i
JOIN incidents_workspace w ON w.id = i.workspace_id
JOIN incidents_incident_affected_containers ic ON ic.incident_id = i.id
JOIN incidents_container c ON c.id = ic.container_id
GROUP BY i.id, w.external_id
ORDER BY i.id
"""


def _rfc3339(value) -> str:
    from datetime import UTC, datetime

    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def floor(database_url: str, sites: list) -> tuple[float, int]:
    """One SELECT through the driver, payloads as dicts, JSON, and the same POSTs."""
    import jwt as pyjwt
    import requests
    from atlassian_jwt.url_utils import hash_url
    from django.conf import settings

    app_key = settings.CONNECT_APP_KEY
    secrets = {f"bench-{s}": (site.base_url, site.shared_secret) for s, site in enumerate(sites)}
    started = time.perf_counter()
    if database_url.startswith("sqlite"):
        import sqlite3

        lite = sqlite3.connect(urlsplit(database_url).path)
        rows = lite.execute(FLOOR_SQL.format(agg="group_concat(c.external_id, ',')")).fetchall()
        lite.close()
    else:
        import psycopg

        with psycopg.connect(database_url) as pg:
            rows = pg.execute(FLOOR_SQL.format(agg="string_agg(c.external_id, ',')")).fetchall()
    by_workspace: dict[str, list[dict]] = defaultdict(list)
    for eid, summary, desc, url, sev, status, created, updated, usn, ws, containers in rows:
        payload = {
            "schemaVersion": "1.0",
            "id": eid,
            "updateSequenceNumber": usn,
            "summary": summary,
            "description": desc,
            "url": url,
            "createdDate": _rfc3339(created),
            "lastUpdated": _rfc3339(updated),
            "status": status,
            "affectedComponents": sorted(containers.split(",")),
        }
        if sev:
            payload["severity"] = {"level": sev}
        by_workspace[ws].append(payload)
    session = requests.Session()
    sent = 0
    path = "/rest/operations/1.0/bulk"
    for ws, payloads in by_workspace.items():
        base_url, secret = secrets[ws]
        for start in range(0, len(payloads), BATCH):
            now = int(time.time())
            token = pyjwt.encode(
                {
                    "iss": app_key,
                    "iat": now,
                    "exp": now + 180,
                    "qsh": hash_url("POST", path),
                },
                secret,
                algorithm="HS256",
            )
            body = json.dumps(
                {
                    "incidents": payloads[start : start + BATCH],
                    "properties": {"workspaceId": ws},
                    "providerMetadata": {"product": "Ops Portal"},
                }
            )
            response = session.post(
                base_url + path,
                data=body,
                headers={"Authorization": f"JWT {token}", "Content-Type": "application/json"},
                timeout=120,
            )
            if response.status_code != 202:
                sys.exit(f"FAIL: the floor's POST got {response.status_code}: {response.text}")
            sent += 1
    return time.perf_counter() - started, sent


def per_change(site, sample: int) -> tuple[float, int]:
    """One request per saved change, as a save hook calling Jira would do."""
    from connect.client import JiraClient
    from incidents.models import Incident
    from incidents.sync.payloads import incident_to_jira

    client = JiraClient(site, max_attempts=1)
    incidents = list(Incident.objects.for_jira().order_by("pk")[:sample])
    started = time.perf_counter()
    for incident in incidents:
        client.submit_entities(
            incidents=[incident_to_jira(incident)],
            properties={"workspaceId": incident.workspace.external_id},
        )
    return time.perf_counter() - started, len(incidents)


# --- The run ----------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100_000, help="changes (incidents)")
    parser.add_argument("--database-url", default="", help="a PostgreSQL server to bench on")
    parser.add_argument("--sites", type=int, default=1, help="Jira sites the changes go to")
    parser.add_argument("--workers", type=int, default=1, help="relay worker processes")
    parser.add_argument("--jira-latency-ms", type=int, default=0, help="jirasim's added latency")
    parser.add_argument("--drains", type=int, default=2, help="drains of N changes each")
    parser.add_argument("--sample", type=int, default=1000, help="changes sent per change")
    args = parser.parse_args()

    with (
        tempfile.TemporaryDirectory(prefix="bench-sync-") as scratch,
        scratch_database_in(args.database_url, scratch),
    ):
        database_url = scratch_database_url(args.database_url)
        from django.conf import settings
        from django.db import connection

        from jirasim.testing import run_jirasim
        from tests.sync.conftest import install_into

        with run_jirasim(latency_ms=args.jira_latency_ms) as sim:
            names = [f"site-{s}" if s else "default" for s in range(args.sites)]
            sites = [install_into(sim, name) for name in names]
            started = time.perf_counter()
            create_changes(args.n, sites)
            recorded = time.perf_counter() - started
            settle()
            pending = backlog()
            connection.close()

            results = []
            one_worker_seconds = None
            if args.workers > 1:
                # Scale-out baseline: the same drain with one worker.
                solo = start_workers(1, database_url)
                one_worker_seconds = drain(solo)
                stop_workers(solo)
                rerecord_all(0)
                settle()
            workers = start_workers(args.workers, database_url)
            try:
                for round_number in range(1, args.drains + 1):
                    if round_number > 1:
                        with held_back(boot_seconds=0):  # the drain starts once settled
                            rerecord_all(round_number)
                            settle()
                    before = bulk_requests(sim)
                    seconds = drain(workers)
                    results.append((seconds, bulk_requests(sim) - before))
                rss = [peak_rss_mib(worker) for worker in workers]
            finally:
                stop_workers(workers)
            stored = sum(len(sim.incidents(site=name)) for name in names)

            sim.reset(data_only=True)
            floor_seconds, floor_requests = floor(database_url, sites)
            sim.reset(data_only=True)
            sample_seconds, sample = per_change(sites[0], min(args.sample, args.n))
        engine = settings.DATABASES["default"]["ENGINE"].rsplit(".", 1)[-1]

    goal = math.ceil(args.n / BATCH) + max(0, args.sites - 1)
    per_change_seconds = sample_seconds / max(sample, 1) * args.n
    first_seconds, first_requests = results[0]
    print(f"database                  {engine}")
    print(f"sites / workers / latency {args.sites} / {args.workers} / {args.jira_latency_ms} ms")
    print(f"changes (N)               {args.n:,}  (recorded in {recorded:.1f} s, {pending:,} rows)")
    for k, (seconds, requests_sent) in enumerate(results, 1):
        print(
            f"relay drain {k}             {seconds:7.1f} s  {requests_sent:,} bulk requests  "
            f"({args.n / seconds:,.0f} changes/s)"
        )
    print(f"relay: goal requests      ceil(N/1000) = {math.ceil(args.n / BATCH):,} (+1 per site)")
    print(f"worker peak RSS           {', '.join(f'{r:.0f}' for r in rss)} MiB over all drains")
    print(f"floor (no Django)         {floor_seconds:7.1f} s  {floor_requests:,} requests")
    print(
        f"per change                {per_change_seconds:7.1f} s  "
        f"(measured {sample:,} in {sample_seconds:.1f} s)"
    )
    print(f"ratio relay / floor           {first_seconds / floor_seconds:6.2f}x  (target <= 2)")
    print(
        f"ratio per-change / relay      {per_change_seconds / first_seconds:6.1f}x  (target >= 20)"
    )
    if one_worker_seconds is not None:
        print(
            f"scale-out: 1 worker {one_worker_seconds:.1f} s, {args.workers} workers "
            f"{first_seconds:.1f} s: {one_worker_seconds / first_seconds:.2f}x"
        )
    if stored != args.n:
        sys.exit(f"FAIL: jirasim stored {stored} of {args.n} incidents")
    if first_requests > goal:
        sys.exit(f"FAIL: {first_requests} bulk requests, more than the goal of {goal}")


if __name__ == "__main__":
    main()
