"""searchContainers' indexes and query plans: prefixes are index range scans on both databases,
substrings go through the trigram indexes on PostgreSQL, and no query reads the whole table."""

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from incidents.models import Container
from incidents.provider.rules import (
    in_workspaces,
    prefix_matches,
    ranked_search_sql,
    search_containers,
    searchable,
    substring_matches,
)

from .support import FOLD_INDEX, TRIGRAM_INDEXES, fill, make_workspace, settle_search_statistics

pytestmark = pytest.mark.django_db
postgres_only = pytest.mark.skipif(connection.vendor != "postgresql", reason="pg_trgm")
TABLE = Container._meta.db_table
KEY_INDEXES = {"incidents_container_name_key", "incidents_container_id_key"}


def index_names() -> set[str]:
    with connection.cursor() as cursor:
        constraints = connection.introspection.get_constraints(cursor, TABLE)
    return {name for name, constraint in constraints.items() if constraint["index"]}


def container_statements(captured) -> list[str]:
    return [q["sql"] for q in captured.captured_queries if TABLE in q["sql"]]


def explained(sql: str) -> str:
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN {sql}")
        return "\n".join(str(row[0]) for row in cursor.fetchall())


def test_migration_created_the_key_indexes_and_dropped_the_old_name_index():
    names = index_names()
    assert names >= KEY_INDEXES
    assert "incidents_container_lower_name" not in names


@postgres_only
def test_key_indexes_compare_by_code_point_on_postgresql():
    with connection.cursor() as cursor:
        cursor.execute("SELECT indexname, indexdef FROM pg_indexes WHERE tablename = %s", [TABLE])
        definitions = dict(cursor.fetchall())
    for name in KEY_INDEXES:
        assert 'COLLATE "C"' in definitions[name]
        assert "lower(" in definitions[name].lower()


@postgres_only
def test_migration_created_the_trigram_indexes():
    with connection.cursor() as cursor:
        cursor.execute("SELECT indexname, indexdef FROM pg_indexes WHERE tablename = %s", [TABLE])
        definitions = dict(cursor.fetchall())
    for name in TRIGRAM_INDEXES:
        assert "gin_trgm_ops" in definitions[name]
        assert "upper(" in definitions[name].lower()


@pytest.mark.skipif(connection.vendor == "postgresql", reason="the SQLite side")
def test_trigram_migration_is_a_no_op_on_sqlite():
    names = index_names()
    assert names  # introspection works: the table's own indexes are listed
    assert not TRIGRAM_INDEXES & names


def test_prefixes_are_index_range_scans_on_both_databases(site_a):
    workspace = make_workspace("ws-range", sites=[site_a])
    fill(workspace, 5_000)
    containers = in_workspaces(Container.objects.all(), [workspace.pk])
    by_name = prefix_matches(containers, "Check", "name_key")[:100].explain()
    by_id = prefix_matches(containers, "SVC-001", "id_key")[:100].explain()
    if connection.vendor == "postgresql":
        # LIKE 'check%' became a range of the index (walked in order, or as a bitmap of the
        # hundred-odd rows in range and sorted, as the planner sees fit).
        assert "incidents_container_name_key" in by_name
        assert "< 'checl'" in by_name
        assert "incidents_container_id_key" in by_id
        assert "< 'svc-002'" in by_id
        assert f"Seq Scan on {TABLE}" not in by_name + by_id
    else:
        assert "USING INDEX incidents_container_name_key (<expr>>? AND <expr><?)" in by_name
        assert "USING INDEX incidents_container_id_key (<expr>>? AND <expr><?)" in by_id
        assert "TEMP B-TREE" not in by_name + by_id  # no sort: the index gives the order


def test_listing_by_name_walks_the_name_index_on_both_databases(site_a):
    workspace = make_workspace("ws-order", sites=[site_a])
    fill(workspace, 5_000)
    plan = searchable(in_workspaces(Container.objects.all(), [workspace.pk]))[:100].explain()
    assert "incidents_container_name_key" in plan


@postgres_only
def test_trigram_candidates_come_from_the_folded_trigram_index(site_a):
    workspace = make_workspace("ws-big", sites=[site_a])
    fill(workspace, 20_000)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT proconfig FROM pg_proc WHERE proname = 'incidents_container_trigram_candidates'"
        )
        [(settings,)] = cursor.fetchall()
    assert set(settings) == {"enable_seqscan=off", "enable_indexscan=off"}
    for query in ["zebra", "-db-e", "y-c", "svc-01234"]:  # none; a third; a few; one
        before = scans()
        found = trigram_candidates(query, workspace, 1_000, 100)
        after = scans()
        expected = [
            c.pk
            for c in searchable(Container.objects.filter(workspace=workspace))
            if query.upper() in c.name.upper() or query.upper() in c.external_id.upper()
        ]
        assert found == expected[:100], query
        assert after["index"] > before["index"], query  # the folded trigram index was read
        assert after["table"] == before["table"], query  # and the table never scanned whole


def scans() -> dict[str, int]:
    """This transaction's scans so far of the folded trigram index and of the whole table."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_stat_get_xact_numscans(%s::regclass), "
            "pg_stat_get_xact_numscans(%s::regclass)",
            [FOLD_INDEX, TABLE],
        )
        index, table = cursor.fetchone()
    return {"index": index, "table": table}


def trigram_candidates(query: str, workspace, n: int, wanted: int) -> list[int]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT incidents_container_trigram_candidates(%s, %s::bigint[], %s, %s)",
            [query, [workspace.pk], n, wanted],
        )
        return [row[0] for row in cursor.fetchall()]


def test_substring_candidates_stay_in_the_workspaces_given(site_a):
    mine = make_workspace("ws-mine", sites=[site_a])
    other = make_workspace("ws-other")
    fill(other, 50, id_prefix="other")
    fill(mine, 5)
    containers = in_workspaces(Container.objects.all(), [mine.pk])
    found = substring_matches(containers, "-eu", 3, [mine.pk])
    assert [c.workspace_id for c in found] == [mine.pk] * 3


def function_plan(function: str, arguments: dict[str, str]) -> str:
    """EXPLAIN of a search function's body, with the function's own settings and arguments."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT prosrc, proconfig FROM pg_proc WHERE proname = %s", [function])
        [(body, settings)] = cursor.fetchall()
    for name, value in arguments.items():
        body = body.replace(name, value)
    with transaction.atomic():
        with connection.cursor() as cursor:
            for setting in settings:
                name, value = setting.split("=")
                cursor.execute(f"SET LOCAL {name} = {value}")
        plan = explained(body)
        transaction.set_rollback(True)
    return plan


@pytest.mark.postgres
@postgres_only
def test_one_letter_query_never_scans_the_container_table(site_a):
    workspace = make_workspace("ws-letters", sites=[site_a])
    fill(workspace, 20_000)
    for query in ["c", "S", "x"]:
        with CaptureQueriesContext(connection) as captured:
            found = search_containers(site_a, query)
        assert found or query == "x"
        [sql] = container_statements(captured)  # both walks in one statement, no substrings
        assert "substring_candidates" not in sql
        plan = explained(sql)
        assert f"Seq Scan on {TABLE}" not in plan, (query, plan)
        assert "Index Scan using incidents_container_pkey" in plan, (query, plan)
    for kind, index in [
        ("name", "incidents_container_name_key"),
        ("id", "incidents_container_id_key"),
    ]:
        plan = function_plan(
            f"incidents_container_{kind}_walk",
            {
                "workspace_ids": f"ARRAY[{workspace.pk}]::bigint[]",
                "prefix": "'c'",
                "LIMIT n": "LIMIT 100",
            },
        )
        assert f"Index Scan using {index}" in plan, (kind, plan)
        assert f"Seq Scan on {TABLE}" not in plan, (kind, plan)
        assert "Sort" not in plan and "Bitmap" not in plan, (kind, plan)


@postgres_only
def test_prefix_walks_always_read_the_key_index_in_order(site_a):
    # Inline, a long prefix whose range the planner underestimates may be read whole as a
    # bitmap and sorted; the walk functions forbid bitmaps and sorts for themselves.
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT proname, proconfig FROM pg_proc WHERE proname LIKE %s",
            ["incidents_container_%_walk"],
        )
        settings = dict(cursor.fetchall())
    assert set(settings) == {"incidents_container_name_walk", "incidents_container_id_walk"}
    for config in settings.values():
        assert set(config) == {"enable_bitmapscan=off", "enable_sort=off"}


@postgres_only
def test_search_is_one_statement_after_the_workspace_lookup_on_postgresql(site_a):
    workspace = make_workspace("ws-one", sites=[site_a])
    fill(workspace, 300)
    for query in ["", "c", "check", "-db-e", "zebra", "svc-00042"]:
        with CaptureQueriesContext(connection) as captured:
            search_containers(site_a, query)
        assert len(captured.captured_queries) == 2, query  # the site's workspaces, the search
        assert len(container_statements(captured)) == 1, query


@postgres_only
def test_substring_candidates_are_not_searched_when_prefixes_fill_every_place(site_a):
    workspace = make_workspace("ws-full", sites=[site_a])
    fill(workspace, 1_000)
    sql, params = ranked_search_sql([workspace.pk], "check", 100)  # 125 name prefixes
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF) {sql}", params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    [line] = [line for line in plan.splitlines() if "substring_candidates" in line]
    assert "never executed" in line, plan
    sql, params = ranked_search_sql([workspace.pk], "heck", 100)  # no prefix: it runs
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF) {sql}", params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    [line] = [line for line in plan.splitlines() if "substring_candidates" in line]
    assert "never executed" not in line, plan


def candidates(query: str, workspace, n: int, wanted: int) -> list[int]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT incidents_container_substring_candidates(%s, %s::bigint[], %s, %s)",
            [query, [workspace.pk], n, wanted],
        )
        return [row[0] for row in cursor.fetchall()]


@postgres_only
def test_substring_candidates_of_a_common_query_come_from_a_bounded_probe(site_a):
    workspace = make_workspace("ws-probe", sites=[site_a])
    fill(workspace, 5_000)  # "-eu " is in every name
    before = scans()
    found = candidates("-eu ", workspace, 1_000, 100)
    after = scans()
    assert len(found) == 100
    assert after["index"] == before["index"]  # not from the trigram index: from the probe
    # The first 100 by name among those the probe read: not only the first pages' containers.
    assert sorted(found) != sorted(
        Container.objects.order_by("pk").values_list("pk", flat=True)[:100]
    )
    assert candidates("-eu ", workspace, 1_000, 100) == found  # the same sample every time


@postgres_only
def test_probe_samples_the_whole_table_so_bunched_matches_are_found(site_a):
    # "ared cach" is in a tenth of the containers, all at the end of the table: the sampled
    # pages are spread over it and find them without the trigram index.
    workspace = make_workspace("ws-bunched", sites=[site_a])
    fill(workspace, 4_500)
    add_late(workspace, 500)
    before = scans()
    found = candidates("ared cach", workspace, 1_000, 100)
    assert scans()["index"] == before["index"]
    assert len(found) == 100
    assert set(found) <= set(late_containers().values_list("pk", flat=True))


@postgres_only
def test_substring_candidates_beyond_the_probe_come_from_the_trigram_index(site_a):
    # The statistics still expect "ared cach" in a tenth of the containers, but 400 of those
    # were renamed since: the probe finds fewer than 100, and the trigram index finds all 100.
    workspace = make_workspace("ws-stale", sites=[site_a])
    fill(workspace, 4_500)
    add_late(workspace, 500)
    renamed = late_containers().values_list("pk", flat=True)[100:]
    Container.objects.filter(pk__in=list(renamed)).update(name="renamed")
    before = scans()
    found = candidates("ared cach", workspace, 1_000, 100)
    assert scans()["index"] > before["index"]
    assert found == [container.pk for container in searchable(late_containers())[:100]]
    assert len(search_containers(site_a, "ared cach")) == 100


def add_late(workspace, count: int) -> None:
    """`count` containers named "Shared cache <n>" at the end of the table, then fresh
    statistics."""
    Container.objects.bulk_create(
        Container(
            workspace=workspace,
            external_id=f"late-{n}",
            name=f"Shared cache {n}",
            url=f"https://ops.example.com/late/{n}",
        )
        for n in range(count)
    )
    settle_search_statistics()


def late_containers():
    return Container.objects.filter(external_id__startswith="late-", name__startswith="Shared")


@postgres_only
def test_substring_candidates_of_a_rare_query_are_complete(site_a):
    workspace = make_workspace("ws-rare", sites=[site_a])
    fill(workspace, 5_000)
    assert len(candidates("-eu 0424", workspace, 1_000, 100)) == 10  # 04240 … 04249
    assert candidates("zebra", workspace, 1_000, 100) == []


@pytest.mark.parametrize("query", ["o'r\\%_", "'; SELECT 1; --", "\\\\x"])
def test_substring_search_with_quotes_and_escapes_on_analysed_table(site_a, query):
    # On PostgreSQL the candidates function quotes the pattern into its EXPLAIN (format %L).
    workspace = make_workspace("ws-quotes", sites=[site_a])
    fill(workspace, 500)
    Container.objects.create(
        workspace=workspace, external_id="quoted", name=f"x {query} y", url="https://e.com/q"
    )
    settle_search_statistics()
    assert [c["id"] for c in search_containers(site_a, query)] == ["quoted"]


@postgres_only
@pytest.mark.parametrize("query", ["***", "\\\\\\", "%%%", "(!)"])
def test_a_query_of_punctuation_only_is_searched_through_the_index(site_a, query):
    # pg_trgm finds no trigram in punctuation; folded to "Q", it has some, and GIN does not
    # read its whole index for it.
    workspace = make_workspace("ws-punctuation", sites=[site_a])
    fill(workspace, 2_000)
    Container.objects.create(
        workspace=workspace, external_id="odd", name=f"a {query} b", url="https://e.com/o"
    )
    settle_search_statistics()
    fetched = "SELECT pg_stat_get_xact_tuples_fetched(%s::regclass)"
    with connection.cursor() as cursor:
        cursor.execute(fetched, [TABLE])
        (before,) = cursor.fetchone()
        assert trigram_candidates(query, workspace, 1_000, 100) == [
            Container.objects.get(external_id="odd").pk
        ]
        cursor.execute(fetched, [TABLE])
        (after,) = cursor.fetchone()
    assert after - before < 10  # the table rows the index pointed at: not all 2,001
    assert [c["id"] for c in search_containers(site_a, query)] == ["odd"]
