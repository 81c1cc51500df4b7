"""Benchmark: N incident changes flushed to jirasim by the relay worker, against the naive way.

    .venv/bin/python bench/sync.py [--n 100000] [--database-url postgres://...] [--sample 1000]

Creates N incidents in a linked workspace (each recorded in the outbox), runs the relay worker as
a separate process (`manage.py jira_sync --once`) against jirasim over HTTP, and prints the number
of requests (goal: ceil(N/1000)), the time, the worker's peak memory, and jirasim's view of the
result. The naive way (one request per saved change) is measured in the same run on `--sample`
changes and scaled to N; the ratios compare the two.
"""

from __future__ import annotations

import argparse
import math
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def setup_django(database_url: str) -> None:
    os.environ["DATABASE_URL"] = database_url
    os.environ.setdefault("SECRET_KEY", "bench-only-secret-key-" + "x" * 40)
    os.environ.setdefault("DEBUG", "false")
    os.environ.setdefault("SECURE_SSL_REDIRECT", "false")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    os.environ["DJANGO_SETTINGS_MODULE"] = "portal.settings"
    import django

    django.setup()
    from django.core.management import call_command

    call_command("flush", interactive=False, verbosity=0)
    call_command("migrate", verbosity=0)


def create_changes(n: int, site):
    from django.db import transaction

    from incidents.models import Container, Incident, Workspace

    workspace = Workspace.objects.create(
        external_id="bench", name="Bench", url="https://ops.example.com/bench"
    )
    containers = Container.objects.bulk_create(
        Container(
            workspace=workspace,
            external_id=f"svc-{k}",
            name=f"Service {k}",
            url=f"https://ops.example.com/svc/{k}",
        )
        for k in range(10)
    )
    workspace.link_site(site)
    through = Incident.affected_containers.through
    for start in range(0, n, 5000):
        with transaction.atomic():
            created = Incident.objects.bulk_create(
                Incident(
                    external_id=f"inc-{k}",
                    workspace=workspace,
                    summary=f"Incident {k}: latency on checkout",
                    description="Customers see timeouts. " * 4,
                    url=f"https://ops.example.com/i/{k}",
                    severity="P2",
                )
                for k in range(start, min(n, start + 5000))
            )
            through.objects.bulk_create(
                through(incident_id=incident.pk, container_id=containers[k % 10].pk)
                for k, incident in enumerate(created)
            )


def run_worker(database_url: str) -> tuple[float, int]:
    """Run `jira_sync --once` in its own process; return (seconds, peak RSS in KiB)."""
    env = dict(os.environ, DATABASE_URL=database_url, SYNC_POLL_SECONDS="0.05")
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "manage.py", "jira_sync", "--once"],
        cwd=ROOT,
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
    )
    elapsed = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return elapsed, max(peak, before)


def naive(site, sample: int) -> tuple[float, int]:
    """One request per saved change, as a save hook calling Jira would do."""
    from connect.client import JiraClient
    from incidents.models import Incident
    from incidents.sync.payloads import incident_to_jira

    client = JiraClient(site, max_attempts=1)
    incidents = list(Incident.objects.for_jira().order_by("pk")[:sample])
    started = time.perf_counter()
    for incident in incidents:
        client.submit_entities(
            incidents=[incident_to_jira(incident)], properties={"workspaceId": "bench"}
        )
    return time.perf_counter() - started, len(incidents)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--sample", type=int, default=1000, help="changes sent the naive way")
    parser.add_argument("--database-url", default="")
    args = parser.parse_args()
    tmp = tempfile.mkdtemp(prefix="bench-sync-")
    database_url = args.database_url or f"sqlite:///{tmp}/bench.sqlite3"
    setup_django(database_url)

    from django.conf import settings

    from jirasim.testing import run_jirasim
    from tests.sync.conftest import install_into

    with run_jirasim() as sim:
        site = install_into(sim)
        started = time.perf_counter()
        create_changes(args.n, site)
        recorded = time.perf_counter() - started
        from incidents.models.outbox import SyncState

        pending = SyncState.objects.filter(pending=True, kind="incident").count()
        seconds, peak_kib = run_worker(database_url)
        log = sim.log.entries()
        submits = [e for e in log if e["method"] == "POST" and e["path"].endswith("/1.0/bulk")]
        stored = len(sim.incidents())
        sim.reset(data_only=True)
        sample_seconds, sample = naive(site, min(args.sample, args.n))

    goal = math.ceil(args.n / settings.SYNC_BATCH_SIZE)
    naive_seconds = sample_seconds / max(sample, 1) * args.n
    print(f"database                 {settings.DATABASES['default']['ENGINE'].rsplit('.', 1)[-1]}")
    print(
        f"changes (N)              {args.n:,}  (recorded in {recorded:.1f} s, {pending:,} pending)"
    )
    print(f"relay: bulk requests     {len(submits):,}  (goal ceil(N/1000) = {goal:,})")
    print(f"relay: HTTP requests     {len(log):,}  (including the workspace link)")
    print(f"relay: time              {seconds:.1f} s  ({args.n / seconds:,.0f} changes/s)")
    print(f"relay: worker peak RSS   {peak_kib / 1024:.0f} MiB")
    print(f"jirasim stored           {stored:,} incidents")
    print(f"naive: measured          {sample:,} requests in {sample_seconds:.1f} s")
    print(f"naive: scaled to N       {args.n:,} requests, {naive_seconds:.0f} s")
    print(f"ratio requests naive/relay  {args.n / max(len(submits), 1):,.0f}x")
    print(f"ratio time naive/relay      {naive_seconds / seconds:,.1f}x")
    if stored != args.n:
        sys.exit(f"FAIL: jirasim stored {stored} of {args.n} incidents")


if __name__ == "__main__":
    main()
