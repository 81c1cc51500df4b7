"""Benchmark: searchContainers p50/p99 per kind of query, against a JWT-authenticated trivial view.

    .venv/bin/python bench/actions.py [--database-url postgres://...] [--containers 100000,1000000]
                                      [--samples 1000]

Creates its own throw-away database (a temporary SQLite file by default; on PostgreSQL a new
database `bench_actions_<pid>_<random>` on the server named, which must not exist yet), migrates
it, loads the containers with COPY (PostgreSQL) or one bulk INSERT (SQLite), and drops it at the
end. It never touches the database the URL names, nor any other.

Every request goes through Django's full stack in-process: URL routing, Connect JWT verification
(site lookup, secret decryption, HS256, qsh), the view and JSON rendering. The baseline is a view
behind the same JWT authentication that does nothing else, so a ratio of 1 means the search costs
nothing beyond the request itself. Each round sends one request of every kind (baseline
included) in a shuffled order, so all kinds see the same conditions. Queries are drawn at random
for each sample from the loaded names and ids, in random letter case.

Several sizes (`--containers 100000,1000000`) grow the same database and measure at each size.
"""

from __future__ import annotations

import argparse
import random
import shutil
import signal
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from contextlib import nullcontext
from pathlib import Path
from urllib.parse import quote, urlencode

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.support import (  # noqa: E402
    configure_django,
    create_scratch_database,
    drop_scratch_database,
    percentile,
)

#: Containers are named like "payments-gateway-eu 001234" and have ids like "svc-001234".
FIRST = ["payments", "orders", "search", "auth", "billing", "catalog", "checkout", "inventory"]
SECOND = ["api", "db", "worker", "gateway", "cache", "queue", "frontend", "scheduler"]
REGIONS = ["eu", "us", "ap"]
#: Letters that appear in no name or id: queries made of them match nothing.
ABSENT = "xzj"
BASELINE = "baseline: JWT trivial view"
#: The targets of issue 14, PostgreSQL: p99 within 3x the baseline's p99 at 100,000
#: containers, and at most 20 ms at 1,000,000.
TARGET_RATIO, TARGET_MS = 3.0, 20.0


def container_name(n: int) -> str:
    """Container n's name, e.g. "billing-cache-eu 000420"."""
    return f"{FIRST[n % 8]}-{SECOND[n // 8 % 8]}-{REGIONS[n // 64 % 3]} {n:06d}"


def container_id(n: int) -> str:
    return f"svc-{n:06d}"


def any_case(rng: random.Random, text: str) -> str:
    return rng.choice([text, text.upper(), text.lower(), text.title()])


def visible(n: int, workspaces: int) -> bool:
    """Whether container n is in a workspace of the calling site (4 in 5 are)."""
    return n % workspaces % 5 != 0


def query_kinds(containers: int, workspaces: int) -> dict[str, Callable[[random.Random], str]]:
    """Each kind of query Jira's connection dialog may send, as a random draw."""

    def some_text(rng: random.Random) -> str:
        n = rng.randrange(containers)
        while not visible(n, workspaces):
            n = rng.randrange(containers)
        return rng.choice([container_name(n), container_id(n)])

    def exact(rng: random.Random) -> str:
        return any_case(rng, some_text(rng))

    def prefix(rng: random.Random) -> str:
        text = some_text(rng)
        return any_case(rng, text[: rng.randint(2, len(text) - 1)])

    def one_letter(rng: random.Random) -> str:
        return rng.choice("abcdefghijklmnopqrstuvwxyz0123456789")

    def substring(rng: random.Random) -> str:
        text = some_text(rng)
        start = rng.randint(1, len(text) - 3)
        return any_case(rng, text[start : rng.randint(start + 3, len(text))])

    def no_match(rng: random.Random) -> str:
        return "".join(rng.choice(ABSENT) for _ in range(rng.randint(3, 8)))

    return {
        "exact name or id": exact,
        "prefix of a name or id": prefix,
        "one letter or digit": one_letter,
        "substring (3+ chars, not a prefix)": substring,
        "no match": no_match,
        "empty (list by name)": lambda rng: "",
    }


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--database-url",
        default="",
        help="server to create the throw-away database on (default: a temporary SQLite file)",
    )
    parser.add_argument(
        "--containers",
        default="100000",
        help="comma-separated sizes, measured in turn on one growing database (default 100000)",
    )
    parser.add_argument("--workspaces", type=int, default=100)
    parser.add_argument("--samples", type=int, default=1000, help="timed requests per kind")
    parser.add_argument("--warmup", type=int, default=50, help="untimed rounds first")
    parser.add_argument("--seed", type=int, default=14)
    parser.add_argument(
        "--keep", action="store_true", help="keep the database at the end (prints its name)"
    )
    args = parser.parse_args()
    args.sizes = [int(size.replace("_", "")) for size in args.containers.split(",")]
    if args.sizes != sorted(args.sizes) or args.sizes[0] < 1:
        parser.error("--containers: positive sizes in increasing order")
    if args.samples < 100:
        parser.error("--samples: at least 100, so that a p99 means something")
    return args


def bench_urls():
    """The portal's URLs plus the baseline: a view behind the actions' JWT authentication."""
    import types

    from django.urls import include, path
    from rest_framework.response import Response

    from incidents.provider.views import ActionView

    class TrivialView(ActionView):
        def get(self, request):
            return Response({"ok": True})

    module = types.ModuleType("bench_actions_urls")
    vars(module)["urlpatterns"] = [
        path("bench/trivial", TrivialView.as_view(), name="bench-trivial"),
        path("", include("portal.urls")),
    ]
    return module


def create_sites(workspaces: int):
    """The site sees 4 in 5 workspaces; another site sees the rest. Returns the calling site."""
    from connect.models import Installation
    from incidents.models import Workspace, WorkspaceLink

    site, other = (
        Installation(client_key=f"bench-{name}", base_url=f"https://{name}.atlassian.net")
        for name in ("site", "other")
    )
    for installation in (site, other):
        installation.set_shared_secret(f"bench-secret-{installation.client_key}-0123456789")
        installation.save()
    spaces = Workspace.objects.bulk_create(
        Workspace(
            external_id=f"ws-{w:03d}", name=f"Workspace {w}", url=f"https://ops.example.com/{w}"
        )
        for w in range(workspaces)
    )
    WorkspaceLink.objects.bulk_create(
        WorkspaceLink(workspace=space, installation=site if n % 5 else other)
        for n, space in enumerate(spaces)
    )
    return site, [space.pk for space in spaces]


def load_containers(start: int, stop: int, workspace_pks: list[int]) -> None:
    """Containers start..stop-1, in bulk: the table's secondary indexes are dropped, the rows
    copied in, the indexes rebuilt (much faster than maintaining them row by row), then
    VACUUM ANALYZE, as autovacuum would eventually do."""
    from django.db import connection, transaction

    from incidents.models import Container

    table = Container._meta.db_table
    columns = ["workspace_id", "external_id", "name", "url", "avatar_url", "last_updated"]
    now = "2026-01-01 00:00:00+00:00"

    def rows():
        for n in range(start, stop):
            yield (
                workspace_pks[n % len(workspace_pks)],
                container_id(n),
                container_name(n),
                f"https://ops.example.com/c/{n}",
                "",
                now,
            )

    # One transaction for SQLite, which would otherwise commit (and sync) every row. PostgreSQL
    # copies in autocommit: the deferred foreign key checks would otherwise block CREATE INDEX.
    atomic = transaction.atomic() if connection.vendor == "sqlite" else nullcontext()
    with atomic, connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "SELECT i.indexname, i.indexdef FROM pg_indexes i WHERE i.tablename = %s AND "
                "NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conname = i.indexname)",
                [table],
            )
            indexes = cursor.fetchall()
            for name, _ in indexes:
                cursor.execute(f'DROP INDEX "{name}"')
            copy_sql = f'COPY "{table}" ({", ".join(columns)}) FROM STDIN'
            with cursor.cursor.copy(copy_sql) as copy:
                for row in rows():
                    copy.write_row(row)
            for _, definition in indexes:
                cursor.execute(definition)
        else:
            cursor.execute(
                "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = %s "
                "AND sql IS NOT NULL",
                [table],
            )
            indexes = cursor.fetchall()
            for name, _ in indexes:
                cursor.execute(f'DROP INDEX "{name}"')
            placeholders = ", ".join(["%s"] * len(columns))
            insert = f'INSERT INTO "{table}" ({", ".join(columns)}) VALUES ({placeholders})'  # noqa: S608 (own table)
            cursor.executemany(insert, rows())
            for _, definition in indexes:
                cursor.execute(definition)
    analyse = f'VACUUM ANALYZE "{table}"' if connection.vendor == "postgresql" else "ANALYZE"
    with connection.cursor() as cursor:
        cursor.execute(analyse)


def signed_get(site, path: str, params: dict[str, str]) -> tuple[str, str]:
    """(url, Authorization header) as Jira would send them: HS256, iss = clientKey, exact qsh."""
    import jwt

    from connect.jwt import query_string_hash

    query = urlencode(params, quote_via=quote)
    now = int(time.time())
    claims = {
        "iss": site.client_key,
        "iat": now,
        "exp": now + 300,
        "qsh": query_string_hash("GET", path, query),
        "sub": "557058:bench-user",
    }
    token = jwt.encode(claims, site.shared_secret, algorithm="HS256")
    return (f"{path}?{query}" if query else path), f"JWT {token}"


def measure(site, containers: int, workspaces: int, samples: int, warmup: int, seed: int):
    """Timings in seconds and result counts per kind, baseline included."""
    from django.test import Client
    from django.urls import reverse

    rng = random.Random(seed)
    client = Client()
    search_path = reverse("operations-search-containers")
    trivial_path = reverse("bench-trivial")
    kinds = query_kinds(containers, workspaces)
    timings: dict[str, list[float]] = {BASELINE: [], **{kind: [] for kind in kinds}}
    found: dict[str, list[int]] = {kind: [] for kind in kinds}
    examples: dict[str, list[str]] = {kind: [] for kind in kinds}
    order = list(timings)
    for round_number in range(warmup + samples):
        rng.shuffle(order)
        for kind in order:
            if kind == BASELINE:
                url, authorization = signed_get(site, trivial_path, {})
            else:
                query = kinds[kind](rng)
                url, authorization = signed_get(site, search_path, {"searchQuery": query})
            started = time.perf_counter()
            response = client.get(url, HTTP_AUTHORIZATION=authorization)
            elapsed = time.perf_counter() - started
            assert response.status_code == 200, (url, response.content)
            if round_number < warmup:
                continue
            timings[kind].append(elapsed)
            if kind != BASELINE:
                found[kind].append(len(response.json()["containers"]))
                if len(examples[kind]) < 3:
                    examples[kind].append(query)
    return timings, found, examples


def report(vendor: str, containers: int, timings, found, examples) -> bool:
    """Prints the table; True if every kind meets the targets that apply to this size."""
    base = timings[BASELINE]
    base_p50, base_p99 = statistics.median(base), percentile(base, 0.99)
    print(f"\n== {vendor}, {containers:,} containers (the calling site sees 4 in 5) ==")
    print(f"{len(base)} timed requests per kind, interleaved in shuffled rounds")
    print(
        f"{'kind':36} {'avg found':>9} {'p50 ms':>8} {'p99 ms':>8} {'p50 x':>7} {'p99 x':>7}"
        "  examples"
    )
    print(f"{BASELINE:36} {'':>9} {base_p50 * 1e3:8.2f} {base_p99 * 1e3:8.2f} {1:7.1f} {1:7.1f}")
    worst_ratio = worst_ms = 0.0
    for kind, samples in timings.items():
        if kind == BASELINE:
            continue
        p50, p99 = statistics.median(samples), percentile(samples, 0.99)
        worst_ratio, worst_ms = max(worst_ratio, p99 / base_p99), max(worst_ms, p99 * 1e3)
        shown = ", ".join(repr(example) for example in examples[kind])
        print(
            f"{kind:36} {statistics.mean(found[kind]):9.1f} {p50 * 1e3:8.2f} {p99 * 1e3:8.2f} "
            f"{p50 / base_p50:7.1f} {p99 / base_p99:7.1f}  {shown}"
        )
    ratio_ok, ms_ok = worst_ratio <= TARGET_RATIO, worst_ms <= TARGET_MS
    print(
        f"worst p99: {worst_ms:.2f} ms, {worst_ratio:.1f}x the baseline's p99 "
        f"(targets: <= {TARGET_RATIO:g}x: {'met' if ratio_ok else 'MISSED'}; "
        f"<= {TARGET_MS:g} ms: {'met' if ms_ok else 'MISSED'})"
    )
    return ratio_ok and ms_ok


def main() -> None:
    args = parse_args()
    # A kill (SIGTERM) unwinds like Ctrl-C, so the database this run created is still dropped.
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))
    scratch = tempfile.mkdtemp(prefix="bench-actions-")
    try:
        run(args, scratch)
    finally:
        if not args.keep:  # a kept SQLite database lives there
            shutil.rmtree(scratch, ignore_errors=True)


def run(args: argparse.Namespace, scratch: str) -> None:
    configure_django(args.database_url, scratch, ALLOWED_HOSTS="testserver")
    from django.conf import settings
    from django.db import connection

    settings.ROOT_URLCONF = "bench_actions_urls"
    sys.modules["bench_actions_urls"] = bench_urls()
    database = create_scratch_database("actions", scratch)

    vendor = connection.vendor
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SHOW server_version")
            vendor = f"PostgreSQL {cursor.fetchone()[0]}"
    else:
        import sqlite3

        vendor = f"SQLite {sqlite3.sqlite_version}"
    print(f"database: {vendor}, throw-away {connection.settings_dict['NAME']}")
    try:
        site, workspace_pks = create_sites(args.workspaces)
        loaded = 0
        for size in args.sizes:
            started = time.perf_counter()
            load_containers(loaded, size, workspace_pks)
            print(
                f"\nloaded containers {loaded:,}..{size - 1:,} in "
                f"{time.perf_counter() - started:.1f} s (indexes rebuilt, analysed)"
            )
            loaded = size
            measured = measure(site, size, args.workspaces, args.samples, args.warmup, args.seed)
            report(vendor, size, *measured)
    finally:
        if args.keep:
            print(f"\nkept database {connection.settings_dict['NAME']}")
        else:
            drop_scratch_database(database)


if __name__ == "__main__":
    main()
