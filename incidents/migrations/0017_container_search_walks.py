"""SQL functions that walk searchContainers' key indexes in order, on PostgreSQL.

`incidents_container_name_walk(prefix, workspace ids, n)` and `incidents_container_id_walk(…)`
answer the ids of the first n containers of those workspaces whose `LOWER(name)` (or
`LOWER(external_id)`) starts with `prefix` (already folded by the caller), in the order of the
indexes of migration 0013: a range of the index, read in order and stopped after n rows.

Inline, the planner chooses between that walk and a bitmap of the whole range sorted
afterwards from its estimate of the range's size, and for a long prefix (`orders-db-e`) that
estimate can be ten times too small: at 1,000,000 containers the bitmap then reads 5,000 rows
to answer 100 (8 ms instead of 0.2 ms). Bitmap scans and sorts are disabled for these two
functions alone (the settings belong to the function), so they always walk.

The range is written out, `key >= prefix AND key <= prefix || U+10FFFF × 255`: a name or id
has at most 255 characters and `LOWER` keeps their number, so every key that starts with the
prefix lies in it and no other does, whatever the prefix's last character. SQLite has no such
functions: there `incidents.provider.rules.prefix_walks` writes the range itself.
"""

from django.db import migrations

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


def create_functions(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for kind, column in WALKS.items():
        schema_editor.execute(WALK.format(kind=kind, column=column))


def drop_functions(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for kind in WALKS:
        schema_editor.execute(DROP_WALK.format(kind=kind))


class Migration(migrations.Migration):
    dependencies = [("incidents", "0016_sync_site_due_index")]

    operations = [migrations.RunPython(create_functions, drop_functions, elidable=False)]
