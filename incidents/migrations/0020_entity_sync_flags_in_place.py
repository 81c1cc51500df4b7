"""Incidents and reviews: `sync_flags` rewritten in place (PostgreSQL's heap-only updates).

The relay rewrites `sync_flags` of every entity it delivers. While a column is indexed, each
such update writes a new entry in every index of the table (13 for incidents, two of them
trigram indexes); with no index on the column, and room on the page, the new row version stays
on its page and touches no index (https://www.postgresql.org/docs/current/storage-hot.html).
So the `(sync_flags, id)` indexes go, and the tables leave 10% of each page free (PostgreSQL
only; existing pages keep their layout until rewritten). The admin's "Jira sync" sort and
filter read the table instead, still well within their budget at 100,000 rows (docs/admin.md).
"""

from django.db import migrations

FILLFACTOR = 90
MODELS = ("Incident", "PostIncidentReview")


def _tables(apps, schema_editor):
    for name in MODELS:
        yield schema_editor.quote_name(apps.get_model("incidents", name)._meta.db_table)


def set_fillfactor(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for table in _tables(apps, schema_editor):
        schema_editor.execute(f"ALTER TABLE {table} SET (fillfactor = {FILLFACTOR})")


def reset_fillfactor(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for table in _tables(apps, schema_editor):
        schema_editor.execute(f"ALTER TABLE {table} RESET (fillfactor)")


class Migration(migrations.Migration):
    dependencies = [("incidents", "0019_outbox_fewer_indexes")]

    operations = [
        migrations.RemoveIndex(model_name="incident", name="incidents_incident_sync_id"),
        migrations.RemoveIndex(model_name="postincidentreview", name="incidents_review_sync_id"),
        migrations.RunPython(set_fillfactor, reset_fillfactor),
    ]
