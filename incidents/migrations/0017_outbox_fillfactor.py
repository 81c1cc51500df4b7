"""Room on each page of the outbox table for updated rows (PostgreSQL only).

The relay updates every row it sends several times (the lease, the present-in-Jira mark, the
outcome). With pages filled to the brim, each new row version goes to another page and every
one of the table's indexes gets a new entry. With 30% of each page free, an update that changes
no indexed column (the lease, the mark) stays on its page and touches no index: PostgreSQL's
heap-only tuples (https://www.postgresql.org/docs/current/storage-hot.html). Existing pages keep
their layout until the table is rewritten (VACUUM FULL); new rows get the room.
"""

from django.db import migrations

FILLFACTOR = 70


def set_fillfactor(apps, schema_editor, value=FILLFACTOR):
    if schema_editor.connection.vendor != "postgresql":
        return
    table = schema_editor.quote_name(apps.get_model("incidents", "SyncState")._meta.db_table)
    schema_editor.execute(f"ALTER TABLE {table} SET (fillfactor = {int(value)})")


def reset_fillfactor(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    table = schema_editor.quote_name(apps.get_model("incidents", "SyncState")._meta.db_table)
    schema_editor.execute(f"ALTER TABLE {table} RESET (fillfactor)")


class Migration(migrations.Migration):
    dependencies = [("incidents", "0016_sync_site_due_index")]

    operations = [migrations.RunPython(set_fillfactor, reset_fillfactor)]
