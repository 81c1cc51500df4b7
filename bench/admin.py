"""Benchmark: every admin changelist at 100,000 rows, with each sort, filter and search it offers.

    .venv/bin/python bench/admin.py [--database-url postgres://...] [--rows 100000] [--repeat 5]

Builds a throw-away database next to the one named (a temporary SQLite file by default; on
PostgreSQL a database `bench_admin_<pid>_<random>` on the same server, dropped at the end; it never
touches another database) and loads `--rows` incidents, reviews, containers and Jira
associations, an outbox row for each incident and review on its workspace's site (most delivered,
some pending, retrying, failed or deleted by staff, a twentieth never sent), 1,000 workspaces and
50 Jira sites.

Then it asks each changelist for every variant its page offers, read from the page itself: each
sortable column both ways, each choice of each filter (at most `--choices` per filter), a search
for an exact id, an id prefix, a word, one letter and nothing that matches, the date drill-down,
and a page far down the list. Each request goes through Django's whole stack (URL routing,
sessions, authentication, the admin view, template rendering) in this process, so the time is
server time without the network. Prints, per request, the median over `--repeat` runs after one
warm-up, the slowest run, and the number of queries; then the worst figures per changelist.
The target: every request at most 250 ms, and the same query count whatever the row count.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.support import configure_django, create_scratch_database, drop_scratch_database  # noqa: E402

TARGET_MS = 250
WORKSPACES = 1000
SITES = 50
SERVICES = ["payments", "orders", "search", "auth", "billing", "catalog", "checkout", "inventory"]
PARTS = ["api", "db", "worker", "gateway", "cache", "queue", "frontend", "scheduler"]
REGIONS = ["eu", "us", "ap"]
SYMPTOMS = ["timeouts", "errors", "latency", "outage", "degraded", "backlog", "crash", "alerts"]


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", default="", help="default: a temporary SQLite file")
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=5, help="timed runs per request")
    parser.add_argument("--choices", type=int, default=4, help="choices tried per filter")
    parser.add_argument("--only", default="", help="only changelists whose URL contains this")
    parser.add_argument(
        "--keep",
        action="store_true",
        help="keep the database (bench_admin_kept, or var/bench_admin_kept.sqlite3) for the "
        "next --keep run instead of dropping it; it is loaded only when empty",
    )
    return parser.parse_args()


def container_name(k: int) -> str:
    return f"{SERVICES[k % 8]}-{PARTS[k // 8 % 8]}-{REGIONS[k // 64 % 3]} {k:06d}"


def load(rows: int) -> None:
    """The data set described in the module docstring; `QuerySet.bulk_create` of the base class,
    so the outbox is filled afterwards in a few statements instead of row by row."""
    from django.db import connection, models
    from django.utils import timezone

    from connect.models import Installation
    from incidents.models import (
        Container,
        EntityAssociation,
        Incident,
        PostIncidentReview,
        Workspace,
        WorkspaceLink,
    )
    from incidents.models.outbox import refresh_sync_summary

    def create(model, objects):
        return models.QuerySet(model=model).bulk_create(objects, batch_size=5000)

    now = timezone.now()
    sites = create(
        Installation,
        (
            Installation(
                client_key=f"bench-site-{s:03d}",
                base_url=f"https://site{s:03d}.atlassian.net",
                cloud_id=f"cloud-{s:03d}",
                state=Installation.State.UNINSTALLED if s % 10 == 9 else "installed",
            )
            for s in range(SITES)
        ),
    )
    workspaces = create(
        Workspace,
        (
            Workspace(
                external_id=f"ws-{w:04d}",
                name=f"{SERVICES[w % 8].title()} team {w:04d}",
                url=f"https://ops.example.com/ws/{w}",
            )
            for w in range(WORKSPACES)
        ),
    )
    # A twentieth of the workspaces is linked to no site: their entities were never sent.
    create(
        WorkspaceLink,
        (
            WorkspaceLink(workspace=workspace, installation=sites[w % SITES])
            for w, workspace in enumerate(workspaces)
            if w % 20 != 19
        ),
    )
    containers = create(
        Container,
        (
            Container(
                workspace=workspaces[k % WORKSPACES],
                external_id=f"svc-{k:06d}",
                name=container_name(k),
                url=f"https://ops.example.com/svc/{k}",
            )
            for k in range(rows)
        ),
    )
    severities = [choice for choice, _ in Incident.Severity.choices] + [""]
    statuses = [choice for choice, _ in Incident.Status.choices]
    incidents = create(
        Incident,
        (
            Incident(
                external_id=f"INC-{k:06d}",
                workspace=workspaces[k % WORKSPACES],
                summary=f"{SERVICES[k % 8]} {SYMPTOMS[k // 8 % 8]} in {REGIONS[k % 3]} ({k})",
                description="Customers see timeouts on checkout. " * 3,
                url=f"https://ops.example.com/i/{k}",
                severity=severities[k % len(severities)],
                status=statuses[k % 5 % 3],
                created_date=now - timedelta(minutes=7 * (rows - k)),
            )
            for k in range(rows)
        ),
    )
    through = Incident.affected_containers.through
    create(
        through,
        (
            through(incident_id=incident.pk, container_id=containers[other].pk)
            for k, incident in enumerate(incidents)
            # Two containers of the incident's own workspace.
            for other in {k, (k + WORKSPACES) % rows}
        ),
    )
    statuses = [choice for choice, _ in PostIncidentReview.Status.choices]
    reviews = create(
        PostIncidentReview,
        (
            PostIncidentReview(
                external_id=f"PIR-{k:06d}",
                workspace=workspaces[k % WORKSPACES],
                summary=f"Review of {SERVICES[k % 8]} {SYMPTOMS[k // 8 % 8]} ({k})",
                url=f"https://ops.example.com/r/{k}",
                status=statuses[k % 4],
                created_date=now - timedelta(minutes=7 * (rows - k)),
            )
            for k in range(rows)
        ),
    )
    review_through = PostIncidentReview.incidents.through
    create(
        review_through,
        (
            review_through(postincidentreview_id=review.pk, incident_id=incidents[k].pk)
            for k, review in enumerate(reviews)
        ),
    )
    create(
        EntityAssociation,
        (
            EntityAssociation(
                installation=sites[k % SITES],
                entity_kind="container",
                entity_id=containers[k].external_id,
                container=containers[k],
                target_ati="ati:cloud:jira:project",
                target_ari=f"ari:cloud:jira:cloud-{k % SITES:03d}:project/{10000 + k}",
                target_cloud_id=f"cloud-{k % SITES:03d}",
                target_id=str(10000 + k),
                associated_by=f"5b10ac8d82e05b22cc7d{k % 997:04d}",
                associated_at=now - timedelta(minutes=5 * (rows - k)),
            )
            for k in range(rows)
        ),
    )
    fill_outbox(now)
    for kind in ("incident", "review"):
        refresh_sync_summary(kind)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE")


def fill_outbox(now) -> None:
    """One row per (site, incident or review, workspace): 90% delivered, then pending,
    waiting to retry, refused by Jira and deleted from Jira by staff; plus the workspaces."""
    from django.db import connection

    from incidents.models.outbox import SyncState

    stamp = SyncState._meta.get_field("changed_at").get_db_prep_value(now, connection)
    with connection.cursor() as cursor:
        for kind, table in (
            ("incident", "incidents_incident"),
            ("review", "incidents_postincidentreview"),
            ("workspace", "incidents_workspace"),
        ):
            sequence = "0" if kind == "workspace" else "e.update_sequence_number"
            cursor.execute(
                "INSERT INTO incidents_syncstate (installation_id, kind, external_id, "  # noqa: S608
                "change_token, pending, changed_at, next_attempt_at, attempts, claimed_by, "
                "synced_at, sent_sequence_number, present_in_jira, error, last_attempt_error, "
                "withheld) "
                f"SELECT l.installation_id, %s, e.external_id, 'bench', FALSE, %s, %s, 0, '', "
                f"%s, {sequence}, TRUE, '', '', FALSE FROM {table} e "
                "JOIN incidents_workspacelink l ON l.workspace_id = "
                f"{'e.id' if kind == 'workspace' else 'e.workspace_id'}",
                [kind, stamp, stamp, stamp],
            )
        cursor.execute(
            "UPDATE incidents_syncstate SET pending = TRUE WHERE id %% 100 BETWEEN 90 AND 93",
            [],
        )
        cursor.execute(
            "UPDATE incidents_syncstate SET pending = TRUE, attempts = 3, "
            "last_attempt_error = '503 Service Unavailable' WHERE id %% 100 BETWEEN 94 AND 96",
            [],
        )
        cursor.execute(
            "UPDATE incidents_syncstate SET error = 'Jira refused: summary too long' "
            "WHERE id %% 100 BETWEEN 97 AND 98",
            [],
        )
        cursor.execute(
            "UPDATE incidents_syncstate SET withheld = TRUE, present_in_jira = FALSE "
            "WHERE id %% 100 = 99",
            [],
        )


def variants(user, url: str, choices: int) -> list[tuple[str, str]]:
    """(label, query string) for everything the changelist at `url` offers, read from the
    admin's own changelist object for that page."""
    from django.contrib.admin.views.main import ORDER_VAR, PAGE_VAR, SEARCH_VAR
    from django.test import RequestFactory
    from django.urls import resolve

    request = RequestFactory().get(url)
    request.user = user
    model_admin = resolve(url).func.model_admin  # type: ignore[attr-defined]  # admin views carry it
    cl = model_admin.get_changelist_instance(request)
    found = [("first page", "")]
    for index, name in enumerate(cl.list_display):
        if name != "action_checkbox" and cl.get_ordering_field(name) is not None:
            found.append((f"sort {name} ↑", urlencode({ORDER_VAR: index})))
            found.append((f"sort {name} ↓", urlencode({ORDER_VAR: f"-{index}"})))
    for spec in cl.filter_specs:
        title = getattr(spec, "title", "filter")
        tried = 0
        for choice in spec.choices(cl):
            if "query_string" not in choice:  # a text box, not links
                found.extend(
                    (f"filter {title} = {value!r}", urlencode({spec.parameter_name: value}))
                    for value in ("svc-004242", "gateway-eu")
                )
                break
            if choice.get("selected") or tried >= choices:
                continue
            tried += 1
            found.append((f"filter {title}: {choice['display']}", choice["query_string"][1:]))
    if cl.date_hierarchy:
        year = cl.queryset.order_by().values_list(cl.date_hierarchy, flat=True).first().year
        field = cl.date_hierarchy
        found.append((f"date {year}", urlencode({f"{field}__year": year})))
        found.append((f"date {year}-06", urlencode({f"{field}__year": year, f"{field}__month": 6})))
    if cl.search_fields:
        an_id = ID_OF_MODEL.get(cl.model._meta.model_name, "svc-004242")
        for label, term in (
            ("exact id", an_id),
            ("id prefix", an_id[:-2]),
            ("a word", WORD_OF_MODEL.get(cl.model._meta.model_name, "gateway")),
            ("one letter", "a"),
            ("no match", "zzzz"),
        ):
            found.append((f"search {label} {term!r}", urlencode({SEARCH_VAR: term})))
    if cl.result_count > 50_000:
        found.append(("page 1000", urlencode({PAGE_VAR: 1000})))
    return found


class QueryMeter:
    """Counts the queries of a request and the time spent in them (a connection wrapper, so
    it sees every query whatever DEBUG says)."""

    def __init__(self) -> None:
        self.count = 0
        self.seconds = 0.0

    def __call__(self, execute, sql, params, many, context):
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            self.count += 1
            self.seconds += time.perf_counter() - started


def measure(client, url: str, repeat: int) -> tuple[float, float, float, int]:
    """(median ms, slowest ms, median ms inside the database, queries) of GET url, after one
    warm-up."""
    from django.db import connection

    response = client.get(url)
    assert response.status_code == 200, (url, response.status_code)
    times, database, counts = [], [], set()
    for _ in range(repeat):
        meter = QueryMeter()
        with connection.execute_wrapper(meter):
            started = time.perf_counter()
            client.get(url)
            times.append((time.perf_counter() - started) * 1000)
        database.append(meter.seconds * 1000)
        counts.add(meter.count)
    assert len(counts) == 1, f"{url}: the query count varies between runs: {counts}"
    return statistics.median(times), max(times), statistics.median(database), counts.pop()


#: An existing id of each list's rows, to search for.
ID_OF_MODEL = {
    "incident": "INC-004242",
    "postincidentreview": "PIR-004242",
    "workspace": "ws-0424",
    "syncstate": "INC-004242",
    "installation": "bench-site-042",
}

#: A word found in many of each list's rows (a summary's symptom, a workspace's "team").
WORD_OF_MODEL = {"incident": "latency", "postincidentreview": "latency", "workspace": "team"}

CHANGELISTS = [
    ("incidents", "admin:incidents_incident_changelist"),
    ("reviews", "admin:incidents_postincidentreview_changelist"),
    ("workspaces", "admin:incidents_workspace_changelist"),
    ("containers", "admin:incidents_container_changelist"),
    ("Jira sites", "admin:connect_installation_changelist"),
    ("sync states (outbox)", "admin:incidents_syncstate_changelist"),
    ("Jira associations", "admin:incidents_entityassociation_changelist"),
]


def main() -> None:
    args = parse_args()
    scratch = tempfile.mkdtemp(prefix="bench-admin-")
    configure_django(
        args.database_url, scratch, STATIC_FILES_MANIFEST="false", ALLOWED_HOSTS="testserver"
    )
    # One connection for the whole run, as the test client's own test cases do, so each
    # request's queries can be counted (and no request pays for a new connection).
    from django.core.signals import request_finished, request_started
    from django.db import close_old_connections

    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    scratch_db = create_scratch_database("admin", scratch, keep=args.keep)
    label = scratch_db.label
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test import Client
    from django.urls import reverse

    try:
        from incidents.models import Incident

        started = time.perf_counter()
        if not Incident.objects.exists():
            load(args.rows)
        took = time.perf_counter() - started
        print(f"{label}: {Incident.objects.count():,} rows per list loaded in {took:.0f} s")
        user, _ = get_user_model().objects.get_or_create(
            username="bench", defaults={"is_staff": True, "is_superuser": True}
        )
        client = Client()
        client.force_login(user)
        worst: list[tuple[str, int, float, float, int, list[int]]] = []
        print()
        print("| changelist | request | median ms | slowest ms | in database ms | queries |")
        print("| --- | --- | ---: | ---: | ---: | ---: |")
        floor = measure(client, reverse("admin:auth_group_changelist"), args.repeat)
        print(
            f"| (baseline) | empty group list | {floor[0]:.0f} | {floor[1]:.0f} | "
            f"{floor[2]:.0f} | {floor[3]} |"
        )
        for name, url_name in CHANGELISTS:
            url = reverse(url_name)
            if args.only and args.only not in url:
                continue
            results = []
            for what, query in variants(user, url, args.choices):
                median, slowest, database, queries = measure(client, f"{url}?{query}", args.repeat)
                results.append((median, database, queries))
                flag = " **over**" if median > TARGET_MS else ""
                print(
                    f"| {name} | {what} | {median:.0f}{flag} | {slowest:.0f} | {database:.0f} "
                    f"| {queries} |"
                )
                sys.stdout.flush()
            worst.append(
                (
                    name,
                    len(results),
                    max(r[0] for r in results),
                    max(r[1] for r in results),
                    sum(r[0] > TARGET_MS for r in results),
                    sorted({r[2] for r in results}),
                )
            )
        print()
        print(
            "| changelist | requests | worst median ms | worst in database ms "
            f"| over {TARGET_MS} ms | queries |"
        )
        print("| --- | ---: | ---: | ---: | ---: | --- |")
        for name, count, slowest, database, over, query_counts in worst:
            print(
                f"| {name} | {count} | {slowest:.0f} | {database:.0f} | {over} "
                f"| {', '.join(map(str, query_counts))} |"
            )
    finally:
        connection.close()
        drop_scratch_database(scratch_db)
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
