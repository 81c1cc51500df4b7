"""Benchmark: a queryset `update()` of N incidents with its outbox rows, against a plain SQL UPDATE.

    .venv/bin/python bench/recording.py [--database-url postgres://...] [--n 100000] [--rounds 3]

Builds a throw-away database next to the one named (a temporary SQLite file by default; on
PostgreSQL a database `bench_recording_<pid>_<random>` on the same server, dropped at the end;
it never touches another database), loads N incidents in one workspace linked to one Jira site,
and marks their outbox rows as delivered. Then, in each round and in alternating order:

- **plain SQL**: one `UPDATE` of the same rows and columns the portal writes (status, sequence
  number, last updated), with no outbox;
- **recorded**: `Incident.objects.filter(...).update(status=...)`, the portal's write path: the
  same UPDATE, the N outbox rows marked pending (one `INSERT … SELECT … ON CONFLICT`), and the
  incidents' `sync_flags` summary refreshed, all in one transaction.

Before each timed statement the outbox is put back to "delivered" and, on PostgreSQL, both tables
are vacuumed, so every round starts from the same state. Prints the medians and their ratio (the
target is at most 5x).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.support import configure_django, scratch_database  # noqa: E402


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", default="", help="default: a temporary SQLite file")
    parser.add_argument("--n", type=int, default=100_000, help="incidents updated at once")
    parser.add_argument("--rounds", type=int, default=3)
    return parser.parse_args()


def load(n: int):
    """N incidents of one workspace linked to one site, recorded and then marked delivered."""
    from django.db import transaction

    from connect.models import Installation
    from incidents.models import Container, Incident, Workspace

    site = Installation.objects.create(
        client_key="bench-site", base_url="https://bench.atlassian.net"
    )
    workspace = Workspace.objects.create(
        external_id="bench", name="Bench", url="https://ops.example.com/bench"
    )
    workspace.link_site(site)
    container = Container.objects.create(
        workspace=workspace, external_id="svc-0", name="Service 0", url="https://ops.example.com"
    )
    through = Incident.affected_containers.through
    for start in range(0, n, 10_000):
        with transaction.atomic():
            created = Incident.objects.bulk_create(
                Incident(
                    external_id=f"inc-{k:06d}",
                    workspace=workspace,
                    summary=f"Incident {k}: latency on checkout",
                    description="Customers see timeouts. " * 4,
                    url=f"https://ops.example.com/i/{k}",
                    severity="P2",
                )
                for k in range(start, min(n, start + 10_000))
            )
            through.objects.bulk_create(
                through(incident_id=incident.pk, container_id=container.pk) for incident in created
            )
    return workspace


def mark_delivered() -> None:
    """Every outbox row as the relay leaves it after a successful send."""
    from django.db import transaction
    from django.utils import timezone

    from incidents.models.outbox import SyncState, refresh_sync_summary

    with transaction.atomic():
        SyncState.objects.update(
            pending=False, present_in_jira=True, synced_at=timezone.now(), attempts=0
        )
        refresh_sync_summary(SyncState.Kind.INCIDENT)


def settle() -> None:
    """Vacuum on PostgreSQL, so dead rows of the previous round weigh on no measurement."""
    from django.db import connection

    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE incidents_incident")
            cursor.execute("VACUUM ANALYZE incidents_syncstate")


def plain_update(workspace, status: str) -> float:
    """The same rows and columns as the portal's update, in raw SQL with no outbox."""
    from django.db import connection, transaction
    from django.utils import timezone

    from incidents.models.sequence import now_epoch_millis

    greatest = "GREATEST" if connection.vendor == "postgresql" else "MAX"
    now: Any = timezone.now()
    if connection.vendor == "sqlite":
        now = connection.ops.adapt_datetimefield_value(now)
    started = time.perf_counter()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "UPDATE incidents_incident SET status = %s, "  # noqa: S608
            f"update_sequence_number = {greatest}(update_sequence_number + 1, %s), "
            "last_updated = %s WHERE workspace_id = %s",
            [status, now_epoch_millis(), now, workspace.pk],
        )
    return time.perf_counter() - started


def recorded_update(workspace, status: str) -> float:
    from incidents.models import Incident

    started = time.perf_counter()
    Incident.objects.filter(workspace=workspace).update(status=status)
    return time.perf_counter() - started


def check(n: int) -> None:
    """The recorded update did mark every row pending and every summary pending."""
    from incidents.models import Incident
    from incidents.models.outbox import SYNC_ANY_ROW, SYNC_PENDING, SyncState

    pending = SyncState.objects.filter(kind="incident", pending=True).count()
    summarised = Incident.objects.filter(sync_flags=SYNC_ANY_ROW | SYNC_PENDING).count()
    if pending != n or summarised != n:
        raise SystemExit(f"recording is wrong: {pending} pending rows, {summarised} summaries")


def main() -> None:
    args = parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-recording-") as scratch:
        configure_django(args.database_url, scratch)
        with scratch_database("recording", scratch) as database:
            run(args, database.label)


def run(args: argparse.Namespace, label: str) -> None:
    started = time.perf_counter()
    workspace = load(args.n)
    print(f"{label}: {args.n:,} incidents loaded in {time.perf_counter() - started:.1f} s")
    plain: list[float] = []
    recorded: list[float] = []
    statuses = ["resolved", "open"]
    for round_ in range(args.rounds):
        order = ("plain", "recorded") if round_ % 2 == 0 else ("recorded", "plain")
        for which in order:
            mark_delivered()
            settle()
            status = statuses[len(plain) + len(recorded) & 1]
            if which == "plain":
                plain.append(plain_update(workspace, status))
            else:
                recorded.append(recorded_update(workspace, status))
                check(args.n)
    plain_ms = statistics.median(plain) * 1000
    recorded_ms = statistics.median(recorded) * 1000
    print()
    print(f"| {args.n:,} incidents, median of {args.rounds} | ms |")
    print("| --- | ---: |")
    print(f"| plain SQL UPDATE (no outbox) | {plain_ms:,.0f} |")
    print(f"| queryset update(), outbox rows and summaries included | {recorded_ms:,.0f} |")
    print(f"| ratio (target <= 5x) | {recorded_ms / plain_ms:.2f}x |")


if __name__ == "__main__":
    main()
