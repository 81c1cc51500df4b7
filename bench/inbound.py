"""Benchmark: alert webhook handling (POST /api/v1/hooks/alertmanager/) at 1,000 and 100,000
existing incidents.

    .venv/bin/python bench/inbound.py [--database-url postgres://...] [--sizes 1000,100000]
                                      [--groups 100] [--warmup 10]

Builds a throw-away database next to the one named (a temporary SQLite file by default; on
PostgreSQL a database `bench_inbound_<pid>_<random>` on the same server, dropped at the end),
migrates it, and loads the existing incidents into the integration's workspace, which is linked
to a Jira site (so every change also writes its outbox rows, as in production): resolved
incidents with their containers, closed alert groups and deliveries. Then it sends Alertmanager
notifications through Django's test client with the integration's bearer token, so each figure
includes URL routing, token lookup, JSON parsing, the group lookup and lock, the incident write,
its timeline and outbox rows, and the delivery record. Each alert group gets three
notifications: the first firing one (opens an incident), a second firing one with a new severity
and service (updates it), and a resolved one (resolves it). Prints p50 and p99 per kind and
overall, next to a view that runs `SELECT 1`."""

from __future__ import annotations

import argparse
import copy
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.support import configure_django, percentile, scratch_database  # noqa: E402

BODY = json.loads((ROOT / "tests" / "api" / "bodies" / "alertmanager_firing.json").read_text())
CONTAINERS = 50


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", default="", help="default: a temporary SQLite file")
    parser.add_argument("--sizes", default="1000,100000", help="existing incidents, ascending")
    parser.add_argument("--groups", type=int, default=100, help="alert groups timed per size")
    parser.add_argument("--warmup", type=int, default=10, help="groups sent before timing")
    return parser.parse_args()


def bench_urls():
    """The portal's URLs plus the baseline view."""
    import types

    from django.db import connection
    from django.http import JsonResponse
    from django.urls import include, path

    def select_one(request):
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            (value,) = cursor.fetchone()
        return JsonResponse({"value": value})

    module = types.ModuleType("bench_inbound_urls")
    vars(module)["urlpatterns"] = [
        path("bench/select-1", select_one),
        path("", include("portal.urls")),
    ]
    return module


def prepare():
    """A workspace linked to a Jira site, its containers, and an Alertmanager integration."""
    from connect.models import Installation
    from incidents.models import Container, Integration, Workspace

    site = Installation(client_key="bench-site", base_url="https://bench.atlassian.net")
    site.set_shared_secret("bench-secret-0123456789-0123456789")
    site.save()
    workspace = Workspace.objects.create(
        external_id="payments", name="Payments", url="https://ops.example.com/payments"
    )
    workspace.link_site(site)
    Container.objects.bulk_create(
        Container(
            workspace=workspace,
            external_id=f"svc-{n:03d}",
            name=f"Service {n:03d}",
            url=f"https://ops.example.com/c/{n}",
        )
        for n in range(CONTAINERS)
    )
    integration = Integration(workspace=workspace, name="prometheus", kind="alertmanager")
    token = integration.set_new_token()
    integration.save()
    return workspace, integration, token


def load(workspace, integration, start: int, stop: int) -> None:
    """Existing incidents start..stop-1: resolved, one container each, a closed alert group
    and a delivery each (bulk inserts: these rows only need to exist)."""
    from django.db import connection
    from django.utils import timezone

    from incidents.models import AlertGroup, Container, Delivery, Incident
    from incidents.models.integrations import group_key_hash

    containers = list(Container.objects.filter(workspace=workspace).order_by("pk"))
    through = Incident.affected_containers.through
    now = timezone.now()
    for first in range(start, stop, 5000):
        numbers = range(first, min(first + 5000, stop))
        incidents = Incident.objects.bulk_create(
            Incident(
                workspace=workspace,
                external_id=f"OLD-{n + 1}",
                summary=f"Old incident {n}",
                url=f"https://ops.example.com/incidents/OLD-{n + 1}/",
                status="resolved",
                severity="P3",
                resolved_at=now,
            )
            for n in numbers
        )
        through.objects.bulk_create(
            through(incident_id=i.pk, container_id=containers[n % CONTAINERS].pk)
            for n, i in zip(numbers, incidents, strict=True)
        )
        AlertGroup.objects.bulk_create(
            AlertGroup(
                integration=integration,
                key=f"old-{n}",
                key_hash=group_key_hash(f"old-{n}"),
                incident=i,
                is_open=False,
                closed_at=now,
            )
            for n, i in zip(numbers, incidents, strict=True)
        )
        Delivery.objects.bulk_create(
            Delivery(
                integration=integration,
                endpoint="alertmanager",
                outcome="resolved",
                status_code=202,
                group_key=f"old-{n}",
            )
            for n in numbers
        )
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE" if connection.vendor == "postgresql" else "ANALYZE")


def notifications(group: str, n: int) -> list[tuple[str, dict]]:
    """The three notifications of one alert group."""
    firing = copy.deepcopy(BODY)
    firing["groupKey"] = f'{{}}:{{alertname="Bench{group}"}}'
    for alert in firing["alerts"]:
        alert["labels"]["service"] = f"svc-{n % CONTAINERS:03d}"
    firing["commonLabels"]["service"] = f"svc-{n % CONTAINERS:03d}"
    update = copy.deepcopy(firing)
    update["alerts"][0]["labels"]["severity"] = "warning"
    update["alerts"][1]["labels"]["service"] = f"svc-{(n + 1) % CONTAINERS:03d}"
    resolved = copy.deepcopy(update)
    resolved["status"] = "resolved"
    for alert in resolved["alerts"]:
        alert["status"] = "resolved"
    return [("open", firing), ("update", update), ("resolve", resolved)]


def run(token: str, prefix: str, groups: int, warmup: int):
    from django.test import Client

    client = Client()
    headers = {"Authorization": f"Bearer {token}"}
    baseline: list[float] = []
    timings: dict[str, list[float]] = {"open": [], "update": [], "resolve": []}
    for n in range(warmup + groups):
        for kind, payload in notifications(f"{prefix}-{n}", n):
            started = time.perf_counter()
            response = client.get("/bench/select-1")
            elapsed = time.perf_counter() - started
            assert response.status_code == 200
            if n >= warmup:
                baseline.append(elapsed)
            data = json.dumps(payload)
            started = time.perf_counter()
            response = client.post(
                "/api/v1/hooks/alertmanager/",
                data,
                content_type="application/json",
                headers=headers,
            )
            elapsed = time.perf_counter() - started
            assert response.status_code == 202, response.content
            assert len(response.json()["incidents"]) == 1, response.content
            if n >= warmup:
                timings[kind].append(elapsed)
    return baseline, timings


def report(existing: int, baseline: list[float], timings: dict[str, list[float]]) -> None:
    from incidents.models import Incident

    print(f"\nexisting incidents: {existing:,} (now {Incident.objects.count():,})")
    print(f"{'':32} {'requests':>8} {'p50 ms':>9} {'p99 ms':>9}")
    rows = [("baseline: SELECT 1 view", baseline)]
    rows += [(f"alertmanager: {kind}", samples) for kind, samples in timings.items()]
    rows.append(("alertmanager: all", [s for samples in timings.values() for s in samples]))
    for label, samples in rows:
        print(
            f"{label:32} {len(samples):8d} {statistics.median(samples) * 1e3:9.2f} "
            f"{percentile(samples, 0.99) * 1e3:9.2f}"
        )


def main() -> None:
    args = parse_args()
    sizes = sorted(int(size) for size in args.sizes.split(","))
    with tempfile.TemporaryDirectory(prefix="bench-inbound-") as scratch:
        configure_django(args.database_url, scratch, ALLOWED_HOSTS="testserver")
        from django.conf import settings

        settings.ROOT_URLCONF = "bench_inbound_urls"
        sys.modules["bench_inbound_urls"] = bench_urls()
        with scratch_database("inbound", scratch) as database:
            print(f"database: {database.label}")
            measure_sizes(args, sizes)


def measure_sizes(args: argparse.Namespace, sizes: list[int]) -> None:
    workspace, integration, token = prepare()
    loaded = 0
    for size in sizes:
        started = time.perf_counter()
        load(workspace, integration, loaded, size)
        print(f"\nloaded {size - loaded:,} incidents in {time.perf_counter() - started:.1f} s")
        loaded = size
        baseline, timings = run(token, f"s{size}", args.groups, args.warmup)
        report(size, baseline, timings)


if __name__ == "__main__":
    main()
