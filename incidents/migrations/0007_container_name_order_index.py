"""An index in searchContainers' listing order, LOWER(name) then id, on both databases.

With an empty searchQuery Jira gets the first 100 containers by name; with this index the
database walks them in order and stops at 100 instead of sorting every container of the site.
Like the trigram indexes it is outside Django's model state, because it serves one query.
"""

from django.db import migrations

INDEX = "incidents_container_lower_name"


class Migration(migrations.Migration):
    dependencies = [("incidents", "0006_sync_state_tombstones")]

    operations = [
        migrations.RunSQL(
            f'CREATE INDEX IF NOT EXISTS "{INDEX}" ON "incidents_container" '
            '(LOWER("name"), "external_id")',
            f'DROP INDEX IF EXISTS "{INDEX}"',
            elidable=False,
        )
    ]
