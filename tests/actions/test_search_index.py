"""The substring search is served by trigram indexes on PostgreSQL; SQLite skips them."""

import pytest
from django.db import connection

from incidents.models import Container
from incidents.provider.rules import in_workspaces, ranked_containers

from .support import make_workspace

pytestmark = pytest.mark.django_db
postgres_only = pytest.mark.skipif(connection.vendor != "postgresql", reason="pg_trgm")
INDEXES = {"incidents_container_name_trgm", "incidents_container_id_trgm"}


def index_names() -> set[str]:
    with connection.cursor() as cursor:
        constraints = connection.introspection.get_constraints(cursor, Container._meta.db_table)
    return {name for name, constraint in constraints.items() if constraint["index"]}


@postgres_only
def test_migration_created_the_trigram_indexes():
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = %s",
            [Container._meta.db_table],
        )
        definitions = dict(cursor.fetchall())
    for name in INDEXES:
        assert "gin_trgm_ops" in definitions[name]
        assert "upper(" in definitions[name].lower()


@pytest.mark.skipif(connection.vendor == "postgresql", reason="the SQLite side")
def test_migration_is_a_no_op_on_sqlite():
    names = index_names()
    assert names  # introspection works: the table's own indexes are listed
    assert not INDEXES & names


@postgres_only
def test_selective_search_uses_the_trigram_index(site_a):
    workspace = make_workspace("ws-big", sites=[site_a])
    Container.objects.bulk_create(
        Container(
            workspace=workspace,
            external_id=f"svc-{n:05d}",
            name=f"Service number {n:05d}",
            url=f"https://ops.example.com/c/{n}",
        )
        for n in range(20_000)
    )
    Container.objects.create(
        workspace=workspace, external_id="zebra-gw", name="Zebra gateway", url="https://x.example"
    )
    with connection.cursor() as cursor:
        # What autovacuum does in production: merge the GIN pending lists, refresh statistics.
        for name in sorted(INDEXES):
            cursor.execute("SELECT gin_clean_pending_list(%s::regclass)", [name])
        cursor.execute(f"ANALYZE {Container._meta.db_table}")
    plan = ranked_containers("zebra").filter(workspace=workspace)[:100].explain()
    assert "Bitmap Index Scan on incidents_container_name_trgm" in plan
    assert "Bitmap Index Scan on incidents_container_id_trgm" in plan


def test_listing_by_name_walks_the_name_index_on_both_databases(site_a):
    workspace = make_workspace("ws-order", sites=[site_a])
    Container.objects.bulk_create(
        Container(
            workspace=workspace,
            external_id=f"svc-{n:05d}",
            name=f"Service {n:05d}",
            url=f"https://ops.example.com/c/{n}",
        )
        for n in range(5_000)
    )
    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {Container._meta.db_table}")
    plan = in_workspaces(ranked_containers(""), [workspace.pk])[:100].explain()
    assert "incidents_container_lower_name" in plan


@pytest.mark.skipif(connection.vendor != "sqlite", reason="a SQLite planner workaround")
def test_sqlite_scans_instead_of_reading_through_the_workspace_index(site_a):
    workspace = make_workspace("ws-scan", sites=[site_a])
    plan = in_workspaces(ranked_containers("db"), [workspace.pk]).explain()
    assert "incidents_container_workspace_id" not in plan
