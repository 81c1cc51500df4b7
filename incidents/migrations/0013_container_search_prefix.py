"""Indexes in searchContainers' keys, so that exact and prefix matches are index range scans.

searchContainers ranks by `LOWER(name)` and `LOWER(external_id)` compared by code point (the "C"
collation on PostgreSQL, SQLite's default BINARY): in that order every prefix is one contiguous
range of the index, which a locale's collation does not promise ("a-b" may sort between "ab"
and "ac"). With these two indexes an exact match, a prefix (however many containers share it)
and the empty query's listing each read at most the 100 rows answered, in order, whatever the
number of containers. The index of migration 0007 (the database's collation) is replaced.
Like the trigram indexes, they are outside Django's model state: each serves one query.

On PostgreSQL it also creates `incidents_container_substring_candidates()`, the first n
containers of some workspaces whose name or id is LIKE a pattern, planned with sequential and
plain index scans disabled so that it goes through the trigram indexes of migration 0005
(`incidents.provider.rules.substring_matches` says why). The settings belong to the function alone.
"""

from django.db import migrations

NAME_KEY = "incidents_container_name_key"
ID_KEY = "incidents_container_id_key"
OLD_NAME_ORDER = "incidents_container_lower_name"
#: `UPPER(col) LIKE UPPER(pattern)` is what `icontains` compiles to and what the trigram indexes
#: of 0005 are on. `workspace_id + 0` keeps the planner off the workspace index: most rows of a
#: site's workspaces would come through it before the trigram condition is checked.
CANDIDATES_FUNCTION = """
CREATE OR REPLACE FUNCTION incidents_container_substring_candidates(
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
DROP_CANDIDATES_FUNCTION = (
    "DROP FUNCTION IF EXISTS incidents_container_substring_candidates(text, bigint[], integer)"
)


def _key(column: str, vendor: str) -> str:
    collate = ' COLLATE "C"' if vendor == "postgresql" else ""
    return f'LOWER("{column}"){collate}'


def _external_id(vendor: str) -> str:
    return '"external_id" COLLATE "C"' if vendor == "postgresql" else '"external_id"'


def create_indexes(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    for name, column in [(NAME_KEY, "name"), (ID_KEY, "external_id")]:
        schema_editor.execute(
            f'CREATE INDEX IF NOT EXISTS "{name}" ON "incidents_container" '
            f"({_key(column, vendor)}, {_external_id(vendor)})"
        )
    schema_editor.execute(f'DROP INDEX IF EXISTS "{OLD_NAME_ORDER}"')
    if vendor == "postgresql":
        schema_editor.execute(CANDIDATES_FUNCTION)


def drop_indexes(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP_CANDIDATES_FUNCTION)
    schema_editor.execute(
        f'CREATE INDEX IF NOT EXISTS "{OLD_NAME_ORDER}" ON "incidents_container" '
        '(LOWER("name"), "external_id")'
    )
    for name in (NAME_KEY, ID_KEY):
        schema_editor.execute(f'DROP INDEX IF EXISTS "{name}"')


class Migration(migrations.Migration):
    dependencies = [("incidents", "0012_review_action_items")]

    operations = [migrations.RunPython(create_indexes, drop_indexes, elidable=False)]
