"""What every benchmark shares: Django configured from the command line's database URL, on a
throw-away database of the benchmark's own (never one it did not create), and percentiles.

A PostgreSQL URL names the server: the benchmark creates `bench_<name>_<pid>_<random>` there,
refusing to go on if that name exists, and drops it at the end. Without a URL it uses a SQLite
file in a scratch directory.
"""

from __future__ import annotations

import os
import secrets
import sys
import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def configure_django(database_url: str, scratch: str, **environment: str) -> None:
    """Settings for a benchmark run (DEBUG off, quiet logs, no collected static files), then
    `django.setup()`. `environment` sets more variables, e.g. ALLOWED_HOSTS."""
    os.environ["DATABASE_URL"] = database_url or f"sqlite:///{scratch}/unused.sqlite3"
    os.environ.setdefault("SECRET_KEY", "bench-only-secret-key-" + "x" * 40)
    os.environ["DEBUG"] = "false"
    os.environ.setdefault("SECURE_SSL_REDIRECT", "false")
    os.environ.setdefault("STATIC_FILES_MANIFEST", "false")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    os.environ.update(environment)
    os.environ["DJANGO_SETTINGS_MODULE"] = "portal.settings"
    # Benchmarks serve no static files; whitenoise need not look for collected ones.
    warnings.filterwarnings("ignore", message="No directory at", category=UserWarning)
    import django

    django.setup()


@dataclass(frozen=True)
class ScratchDatabase:
    #: "postgresql (bench_sync_123_ab12cd)" or "sqlite (/tmp/…/bench.sqlite3)", for reports.
    label: str
    #: The database the settings named, given back to Django when the scratch one is dropped.
    configured: str
    kept: bool = False


def create_scratch_database(name: str, scratch: str, *, keep: bool = False) -> ScratchDatabase:
    """Create and migrate the benchmark's own database and point Django's connection at it.

    With `keep`, a database named `bench_<name>_kept` is reused between runs (and kept)."""
    from django.db import connection

    configured = connection.settings_dict["NAME"]
    sqlite = connection.vendor == "sqlite"
    if keep:
        database = (
            str(ROOT / "var" / f"bench_{name}_kept.sqlite3") if sqlite else f"bench_{name}_kept"
        )
    elif sqlite:
        database = f"{scratch}/bench.sqlite3"
    else:
        database = f"bench_{name}_{os.getpid()}_{secrets.token_hex(3)}"
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", [database])
            if cursor.fetchone():
                sys.exit(
                    f"database {database} exists; not touching a database this run did not create"
                )
        connection.close()
    connection.settings_dict["TEST"]["NAME"] = database
    # autoclobber only skips a prompt: the name is new (checked above), a fresh file, or kept.
    connection.creation.create_test_db(
        verbosity=0, autoclobber=not keep, serialize=False, keepdb=keep
    )
    return ScratchDatabase(f"{connection.vendor} ({database})", configured, keep)


def scratch_database_url(server_url: str) -> str:
    """A URL of the database Django's connection now uses, for processes the benchmark starts."""
    from urllib.parse import urlsplit, urlunsplit

    from django.db import connection

    name = connection.settings_dict["NAME"]
    if connection.vendor == "sqlite":
        return f"sqlite:///{name}"
    return urlunsplit(urlsplit(server_url)._replace(path=f"/{name}"))


def drop_scratch_database(database: ScratchDatabase) -> None:
    from django.db import connection

    connection.creation.destroy_test_db(database.configured, verbosity=0, keepdb=database.kept)


@contextmanager
def scratch_database(name: str, scratch: str, *, keep: bool = False) -> Iterator[ScratchDatabase]:
    database = create_scratch_database(name, scratch, keep=keep)
    try:
        yield database
    finally:
        drop_scratch_database(database)


def percentile(samples: Sequence[float], fraction: float) -> float:
    """Nearest-rank percentile: the p99 of 1,000 samples is the 10th slowest."""
    ordered = sorted(samples)
    rank = max(1, -(-len(ordered) * fraction // 1))
    return ordered[int(rank) - 1]
