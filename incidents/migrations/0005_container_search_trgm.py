"""Trigram indexes that serve searchContainers' case-insensitive substring match on PostgreSQL.

Django compiles `icontains` to `UPPER(col::text) LIKE UPPER(%s)`, so the GIN indexes are on
`UPPER(col)` with `gin_trgm_ops`. SQLite has no such index type: there this migration does
nothing and the search scans the table (fast enough at 100,000 rows, see docs/actions.md).
"""

from django.db import migrations

INDEXES = {
    "incidents_container_name_trgm": "name",
    "incidents_container_id_trgm": "external_id",
}


def create_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    for name, column in INDEXES.items():
        schema_editor.execute(
            f'CREATE INDEX IF NOT EXISTS "{name}" ON "incidents_container" '
            f'USING gin (UPPER("{column}") gin_trgm_ops)'
        )


def drop_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name in INDEXES:
        schema_editor.execute(f'DROP INDEX IF EXISTS "{name}"')


class Migration(migrations.Migration):
    dependencies = [("incidents", "0004_entity_association")]

    operations = [migrations.RunPython(create_indexes, drop_indexes, elidable=False)]
