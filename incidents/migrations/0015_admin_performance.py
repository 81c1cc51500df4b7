"""The admin at scale: each incident's and review's sync summary (`sync_flags`), computed here
once from the outbox and kept by every outbox write since, and the indexes the lists sort, filter
and search on.

The admin's search compiles to `UPPER(col::text) LIKE UPPER('%term%')`, so on PostgreSQL the
searched columns get GIN trigram indexes on `UPPER(col)` (as 0005 did for containers). SQLite has
no such index: there the search scans, which is fast enough at 100,000 rows (docs/admin.md).
"""

from django.db import migrations, models

# The bits of `incidents.models.outbox` as they were when this migration was written.
FLAGS = (
    "MAX(CASE WHEN s.error <> '' THEN 16 ELSE 0 END)"
    " + MAX(CASE WHEN s.error = '' AND s.pending AND s.last_attempt_error <> '' THEN 8 ELSE 0 END)"
    " + MAX(CASE WHEN s.error = '' AND s.pending AND s.last_attempt_error = '' THEN 4 ELSE 0 END)"
    " + MAX(CASE WHEN s.withheld AND NOT s.pending THEN 2 ELSE 0 END) + 1"
)


def summarise(apps, schema_editor):
    quote = schema_editor.connection.ops.quote_name
    for kind, model_name in (("incident", "Incident"), ("review", "PostIncidentReview")):
        table = quote(apps.get_model("incidents", model_name)._meta.db_table)
        schema_editor.execute(
            f"UPDATE {table} SET sync_flags = summary.flags FROM ("  # noqa: S608
            f"SELECT s.external_id, {FLAGS} AS flags FROM incidents_syncstate s "
            "WHERE s.kind = %s GROUP BY s.external_id) summary "
            f"WHERE {table}.external_id = summary.external_id",
            [kind],
        )


SEARCH_INDEXES = {
    "incidents_incident_id_trgm": ("incidents_incident", "external_id"),
    "incidents_incident_summary_trgm": ("incidents_incident", "summary"),
    "incidents_review_id_trgm": ("incidents_postincidentreview", "external_id"),
    "incidents_review_summary_trgm": ("incidents_postincidentreview", "summary"),
    "incidents_association_id_trgm": ("incidents_entityassociation", "entity_id"),
    "incidents_association_ari_trgm": ("incidents_entityassociation", "target_ari"),
    "incidents_association_by_trgm": ("incidents_entityassociation", "associated_by"),
}


def create_search_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    for name, (table, column) in SEARCH_INDEXES.items():
        schema_editor.execute(
            f'CREATE INDEX IF NOT EXISTS "{name}" ON "{table}" '
            f'USING gin (UPPER("{column}") gin_trgm_ops)'
        )


def drop_search_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name in SEARCH_INDEXES:
        schema_editor.execute(f'DROP INDEX IF EXISTS "{name}"')


class Migration(migrations.Migration):
    dependencies = [
        ("incidents", "0014_integrations"),
    ]

    operations = [
        migrations.RemoveIndex(
            model_name="incident",
            name="incidents_incident_status",
        ),
        migrations.RemoveIndex(
            model_name="incident",
            name="incidents_incident_severity",
        ),
        migrations.RemoveIndex(
            model_name="postincidentreview",
            name="incidents_review_status",
        ),
        migrations.AddField(
            model_name="incident",
            name="sync_flags",
            field=models.PositiveSmallIntegerField(default=0, editable=False),
        ),
        migrations.AddField(
            model_name="postincidentreview",
            name="sync_flags",
            field=models.PositiveSmallIntegerField(default=0, editable=False),
        ),
        migrations.RunPython(summarise, migrations.RunPython.noop),
        migrations.AddIndex(
            model_name="incident",
            index=models.Index(fields=["status", "id"], name="incidents_incident_status_id"),
        ),
        migrations.AddIndex(
            model_name="incident",
            index=models.Index(fields=["severity", "id"], name="incidents_incident_severity_id"),
        ),
        migrations.AddIndex(
            model_name="incident",
            index=models.Index(fields=["sync_flags", "id"], name="incidents_incident_sync_id"),
        ),
        migrations.AddIndex(
            model_name="postincidentreview",
            index=models.Index(fields=["status", "id"], name="incidents_review_status_id"),
        ),
        migrations.AddIndex(
            model_name="postincidentreview",
            index=models.Index(fields=["sync_flags", "id"], name="incidents_review_sync_id"),
        ),
        migrations.AddIndex(
            model_name="container",
            index=models.Index(fields=["name", "id"], name="incidents_container_name_id"),
        ),
        migrations.AddIndex(
            model_name="container",
            index=models.Index(
                fields=["last_updated", "id"], name="incidents_container_updated_id"
            ),
        ),
        migrations.AddIndex(
            model_name="incident",
            index=models.Index(fields=["summary", "id"], name="incidents_incident_summary_id"),
        ),
        migrations.AddIndex(
            model_name="incident",
            index=models.Index(fields=["last_updated", "id"], name="incidents_incident_updated_id"),
        ),
        migrations.AddIndex(
            model_name="postincidentreview",
            index=models.Index(fields=["summary", "id"], name="incidents_review_summary_id"),
        ),
        migrations.AddIndex(
            model_name="postincidentreview",
            index=models.Index(fields=["last_updated", "id"], name="incidents_review_updated_id"),
        ),
        migrations.AddIndex(
            model_name="syncstate",
            index=models.Index(fields=["changed_at", "id"], name="sync_changed_idx"),
        ),
        migrations.AddIndex(
            model_name="syncstate",
            index=models.Index(
                condition=models.Q(("error", ""), _negated=True),
                fields=["installation"],
                name="sync_failed_idx",
            ),
        ),
        migrations.AddIndex(
            model_name="entityassociation",
            index=models.Index(fields=["associated_at", "id"], name="incidents_association_at_id"),
        ),
        migrations.AddIndex(
            model_name="entityassociation",
            index=models.Index(fields=["entity_id", "id"], name="incidents_association_eid_id"),
        ),
        migrations.RunPython(create_search_indexes, drop_search_indexes, elidable=False),
    ]
