"""The admin at scale: each incident's and review's sync summary (`sync_flags`), computed here
once from the outbox and kept by every outbox write since, and the indexes the lists sort and
filter on."""

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


class Migration(migrations.Migration):
    dependencies = [
        ("incidents", "0009_ops_staff_sync_access"),
    ]

    operations = [
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
    ]
