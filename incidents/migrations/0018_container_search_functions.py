"""SQL functions that keep searchContainers' cost bounded on PostgreSQL, whatever the plan.

Prefix walks. `incidents_container_name_walk(prefix, workspace ids, n)` and
`incidents_container_id_walk(…)` answer the ids of the first n containers of those workspaces
whose `LOWER(name)` (or `LOWER(external_id)`) starts with `prefix` (already folded by the
caller), in the order of the indexes of migration 0013: a range of the index, read in order and
stopped after n rows. Inline, the planner chooses between that walk and a bitmap of the whole
range sorted afterwards from its estimate of the range's size, and for a long prefix
(`orders-db-e`) that estimate can be ten times too small: at 1,000,000 containers the bitmap
then reads 5,000 rows to answer 100 (8 ms instead of 0.2 ms). Bitmap scans and sorts are
disabled for these two functions alone (the settings belong to the function), so they always
walk. The range is written out, `key >= prefix AND key <= prefix || U+10FFFF × 255`: a name or
id has at most 255 characters and `LOWER` keeps their number, so every key that starts with the
prefix lies in it and no other does, whatever the prefix's last character.

Substring candidates. `incidents_container_substring_candidates(pattern, workspace ids, n,
wanted)` answers at most n containers of those workspaces whose name or id is LIKE the pattern,
and at least `wanted` of them when that many exist (the caller passes the places it has to
fill). It replaces the function of migration 0013, which always went through the trigram
indexes, whose bitmap costs the length of every posting list of the query's trigrams: for a
query found in a large share of the containers (`c-0`, `vc-`, `us 0`) that is most of the
table's entries. It first asks the planner's statistics how many containers of the workspaces
match (`EXPLAIN` of the condition, which is why it is VOLATILE). When 2 × `wanted` of them are
expected within the first `PROBE_ROWS_MAX` containers by primary key, it reads that many
containers (no more) and answers those that match if they are at least `wanted`. Otherwise, or
if they are fewer, the candidates come from `incidents_container_trigram_candidates()`, the
function of 0013 under a new name (sequential and plain index scans disabled, so the trigram
bitmap is used).

SQLite has none of these functions: there `incidents.provider.rules` writes the queries itself.
"""

from importlib import import_module

from django.db import migrations

#: The most containers the substring probe reads (by primary key) before the trigram indexes.
PROBE_ROWS_MAX = 4_000

WALK = """
CREATE OR REPLACE FUNCTION incidents_container_{kind}_walk(
    prefix text, workspace_ids bigint[], n integer
) RETURNS SETOF bigint
LANGUAGE sql STABLE
SET enable_bitmapscan = off
SET enable_sort = off
AS $$
    SELECT id FROM incidents_container
    WHERE LOWER({column}) COLLATE "C" >= prefix
      AND LOWER({column}) COLLATE "C" <= prefix || repeat(chr(1114111), 255)
      AND workspace_id = ANY(workspace_ids)
    ORDER BY LOWER({column}) COLLATE "C", external_id COLLATE "C"
    LIMIT n
$$
"""
DROP_WALK = "DROP FUNCTION IF EXISTS incidents_container_{kind}_walk(text, bigint[], integer)"
WALKS = {"name": "name", "id": "external_id"}

TRIGRAM_FUNCTION = """
CREATE OR REPLACE FUNCTION incidents_container_trigram_candidates(
    pattern text, workspace_ids bigint[], candidates integer
) RETURNS SETOF bigint
LANGUAGE sql STABLE
SET enable_seqscan = off
SET enable_indexscan = off
AS $$
    SELECT id FROM incidents_container
    WHERE (UPPER(name) LIKE UPPER(pattern) OR UPPER(external_id) LIKE UPPER(pattern))
      AND workspace_id + 0 = ANY(workspace_ids)
    LIMIT candidates
$$
"""
DROP_TRIGRAM_FUNCTION = (
    "DROP FUNCTION IF EXISTS incidents_container_trigram_candidates(text, bigint[], integer)"
)
# `%%L` (format()'s quoted literal) is doubled: schema_editor.execute() interpolates.
CANDIDATES_FUNCTION = """
CREATE OR REPLACE FUNCTION incidents_container_substring_candidates(
    pattern text, workspace_ids bigint[], candidates integer, wanted integer
) RETURNS SETOF bigint
LANGUAGE plpgsql VOLATILE  -- it runs EXPLAIN, which a STABLE function may not
AS $$
DECLARE
    total float8;
    plan json;
    expected float8;
    probe float8;
    found bigint[];
BEGIN
    SELECT reltuples INTO total FROM pg_class WHERE oid = 'incidents_container'::regclass;
    IF total > 0 THEN
        EXECUTE format(
            'EXPLAIN (FORMAT JSON) SELECT 1 FROM incidents_container WHERE '
            '(UPPER(name) LIKE UPPER(%%L) OR UPPER(external_id) LIKE UPPER(%%L)) '
            'AND workspace_id = ANY(%%L::bigint[])',
            pattern, pattern, workspace_ids
        ) INTO plan;
        expected := (plan -> 0 -> 'Plan' ->> 'Plan Rows')::float8;
        probe := ceil(2 * wanted * total / greatest(expected, 1));
        IF probe <= PROBE_ROWS_MAX THEN
            SELECT array_agg(p.id) INTO found FROM (
                SELECT c.id FROM (
                    SELECT id, name, external_id, workspace_id FROM incidents_container
                    ORDER BY id LIMIT probe::integer
                ) AS c
                WHERE (UPPER(c.name) LIKE UPPER(pattern)
                       OR UPPER(c.external_id) LIKE UPPER(pattern))
                  AND c.workspace_id = ANY(workspace_ids)
                LIMIT candidates
            ) AS p;
            IF coalesce(cardinality(found), 0) >= wanted THEN
                RETURN QUERY SELECT unnest(found);
                RETURN;
            END IF;
        END IF;
    END IF;
    RETURN QUERY SELECT incidents_container_trigram_candidates(pattern, workspace_ids, candidates);
END
$$
""".replace("PROBE_ROWS_MAX", str(PROBE_ROWS_MAX))

DROP_CANDIDATES_FUNCTION = (
    "DROP FUNCTION IF EXISTS "
    "incidents_container_substring_candidates(text, bigint[], integer, integer)"
)
DROP_PREVIOUS_CANDIDATES_FUNCTION = (
    "DROP FUNCTION IF EXISTS incidents_container_substring_candidates(text, bigint[], integer)"
)


def create_functions(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for kind, column in WALKS.items():
        schema_editor.execute(WALK.format(kind=kind, column=column))
    schema_editor.execute(TRIGRAM_FUNCTION)
    schema_editor.execute(DROP_PREVIOUS_CANDIDATES_FUNCTION)
    schema_editor.execute(CANDIDATES_FUNCTION)


def drop_functions(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    previous = import_module("incidents.migrations.0013_container_search_prefix")
    schema_editor.execute(DROP_CANDIDATES_FUNCTION)
    schema_editor.execute(previous.CANDIDATES_FUNCTION)
    schema_editor.execute(DROP_TRIGRAM_FUNCTION)
    for kind in WALKS:
        schema_editor.execute(DROP_WALK.format(kind=kind))


class Migration(migrations.Migration):
    dependencies = [("incidents", "0017_outbox_fillfactor")]

    operations = [migrations.RunPython(create_functions, drop_functions, elidable=False)]
