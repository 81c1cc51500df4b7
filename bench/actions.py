"""Benchmark: searchContainers latency at 100,000 containers, against a plain `SELECT 1` view.

    .venv/bin/python bench/actions.py [--database-url postgres://...] [--containers 100000]
                                      [--requests 200]

Builds a throw-away database next to the one named (a temporary SQLite file by default; on
PostgreSQL a database `bench_actions_<pid>` on the same server, dropped at the end), migrates it,
loads the containers, and sends JWT-signed searchContainers calls through Django's test client,
so each figure includes URL routing, Connect JWT verification (secret decryption, HS256, qsh),
the ranked SQL search and JSON rendering. The baseline is a view that runs `SELECT 1` and returns
JSON, measured in the same run, interleaved with the searches. Prints median and p99 per kind of
query and their ratios to the baseline.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import quote, urlencode

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

#: Name words: containers are named like "payments-gateway-eu 01234".
FIRST = ["payments", "orders", "search", "auth", "billing", "catalog", "checkout", "inventory"]
SECOND = ["api", "db", "worker", "gateway", "cache", "queue", "frontend", "scheduler"]
REGIONS = ["eu", "us", "ap"]


def container_name(n: int) -> str:
    """Container n's name, e.g. "billing-cache-eu 00420"."""
    return f"{FIRST[n % 8]}-{SECOND[n // 8 % 8]}-{REGIONS[n // 64 % 3]} {n:05d}"


#: The kinds of query Jira's connection dialog may send.
QUERIES = {
    "empty (lists by name)": "",
    "one letter 'a' (most match)": "a",
    "prefix 'payments'": "payments",
    "substring of one name": container_name(4242)[-12:].upper(),
    "exact id 'svc-004242'": "svc-004242",
    "no match 'zzzz'": "zzzz",
}


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", default="", help="default: a temporary SQLite file")
    parser.add_argument("--containers", type=int, default=100_000)
    parser.add_argument("--workspaces", type=int, default=100)
    parser.add_argument("--requests", type=int, default=200, help="timed requests per query")
    parser.add_argument("--warmup", type=int, default=20)
    return parser.parse_args()


def setup_django(database_url: str) -> tuple[str, str]:
    """Configure Django on a throw-away database; returns (report label, configured name)."""
    scratch = tempfile.mkdtemp(prefix="bench-actions-")
    os.environ["DATABASE_URL"] = database_url or f"sqlite:///{scratch}/unused.sqlite3"
    os.environ.setdefault("SECRET_KEY", "bench-only-secret-key-" + "x" * 40)
    os.environ.setdefault("DEBUG", "false")
    os.environ.setdefault("SECURE_SSL_REDIRECT", "false")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    os.environ["ALLOWED_HOSTS"] = "testserver"
    os.environ["DJANGO_SETTINGS_MODULE"] = "portal.settings"
    import django
    from django.conf import settings

    django.setup()
    from django.db import connection

    configured = connection.settings_dict["NAME"]
    sqlite = connection.vendor == "sqlite"
    name = f"{scratch}/bench.sqlite3" if sqlite else f"bench_actions_{os.getpid()}"
    connection.settings_dict["TEST"]["NAME"] = name
    connection.creation.create_test_db(verbosity=0, autoclobber=True, serialize=False)
    settings.ROOT_URLCONF = "bench_actions_urls"
    sys.modules["bench_actions_urls"] = bench_urls()
    return f"{connection.vendor} ({connection.settings_dict['NAME']})", configured


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

    module = types.ModuleType("bench_actions_urls")
    vars(module)["urlpatterns"] = [
        path("bench/select-1", select_one),
        path("", include("portal.urls")),
    ]
    return module


def load(containers: int, workspaces: int):
    """The site sees 4 in 5 workspaces; another site sees the rest. Returns the calling site."""
    from django.db import connection

    from connect.models import Installation
    from incidents.models import Container, Workspace, WorkspaceLink

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
    batch = []
    for n in range(containers):
        batch.append(
            Container(
                workspace=spaces[n % workspaces],
                external_id=f"svc-{n:06d}",
                name=container_name(n),
                url=f"https://ops.example.com/c/{n}",
            )
        )
        if len(batch) == 5000:
            Container.objects.bulk_create(batch)
            batch = []
    Container.objects.bulk_create(batch)
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE" if connection.vendor == "postgresql" else "ANALYZE")
    return site


def signed_get(site, path: str, params: dict[str, str]) -> tuple[str, str]:
    """(url, Authorization header) as Jira would send them: HS256, iss = clientKey, exact qsh."""
    import jwt

    from connect.jwt import query_string_hash

    query = urlencode(params, quote_via=quote)
    now = int(time.time())
    claims = {
        "iss": site.client_key,
        "iat": now,
        "exp": now + 900,
        "qsh": query_string_hash("GET", path, query),
        "sub": "557058:bench-user",
    }
    token = jwt.encode(claims, site.shared_secret, algorithm="HS256")
    return f"{path}?{query}", f"JWT {token}"


def percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def run(site, requests: int, warmup: int) -> tuple[list[float], dict[str, list[float]], dict]:
    from django.test import Client
    from django.urls import reverse

    client = Client()
    path = reverse("operations-search-containers")
    baseline: list[float] = []
    timings: dict[str, list[float]] = {label: [] for label in QUERIES}
    found: dict[str, int] = {}
    for label, query in QUERIES.items():
        params = {"searchQuery": query}
        calls = [signed_get(site, path, params) for _ in range(warmup + requests)]
        for n, (url, authorization) in enumerate(calls):
            started = time.perf_counter()
            response = client.get("/bench/select-1")
            elapsed = time.perf_counter() - started
            assert response.status_code == 200
            if n >= warmup:
                baseline.append(elapsed)
            started = time.perf_counter()
            response = client.get(url, HTTP_AUTHORIZATION=authorization)
            elapsed = time.perf_counter() - started
            assert response.status_code == 200, response.content
            if n >= warmup:
                timings[label].append(elapsed)
        found[label] = len(response.json()["containers"])
    return baseline, timings, found


def report(label: str, containers: int, baseline, timings, found) -> None:
    base_median = statistics.median(baseline)
    base_p99 = percentile(baseline, 0.99)
    print(f"database: {label}")
    print(f"containers: {containers:,} (4 in 5 visible to the calling site)")
    print(f"requests per row: {len(baseline) // len(timings)} timed, interleaved with the baseline")
    print()
    header = ["found", "median ms", "p99 ms", "x base median", "x base p99"]
    print(f"{'query':46} {header[0]:>5} " + " ".join(f"{h:>13}" for h in header[1:]))
    print(
        f"{'baseline: SELECT 1 view':46} {'':>5} {base_median * 1e3:13.2f} {base_p99 * 1e3:13.2f}"
        f" {1:13.1f} {1:13.1f}"
    )
    everything: list[float] = []
    for query, samples in timings.items():
        everything.extend(samples)
        median, p99 = statistics.median(samples), percentile(samples, 0.99)
        print(
            f"{'searchContainers ' + query:46.46} {found[query]:5d} {median * 1e3:13.2f} "
            f"{p99 * 1e3:13.2f} {median / base_median:13.1f} {p99 / base_p99:13.1f}"
        )
    median, p99 = statistics.median(everything), percentile(everything, 0.99)
    print(
        f"{'searchContainers, all queries':46} {'':>5} {median * 1e3:13.2f} {p99 * 1e3:13.2f} "
        f"{median / base_median:13.1f} {p99 / base_p99:13.1f}"
    )


def main() -> None:
    args = parse_args()
    label, configured = setup_django(args.database_url)
    from django.db import connection

    try:
        started = time.perf_counter()
        site = load(args.containers, args.workspaces)
        print(f"loaded {args.containers:,} containers in {time.perf_counter() - started:.1f} s")
        baseline, timings, found = run(site, args.requests, args.warmup)
        report(label, args.containers, baseline, timings, found)
    finally:
        connection.creation.destroy_test_db(configured, verbosity=0, keepdb=False)


if __name__ == "__main__":
    main()
