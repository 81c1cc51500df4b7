"""The Ops staff group may look at the sync (the outbox rows and the Jira sites) and resume
sending to a site, nothing more: installations stay read-only and only superusers delete them.

"Resume sending" is guarded by `incidents.change_sitesyncstatus`: it changes the relay's health
record of a site, never the installation.
"""

from django.contrib.auth.management import create_permissions
from django.db import migrations

GROUP_NAME = "Ops staff"
GRANTS = [
    ("incidents", "view_syncstate"),
    ("incidents", "change_sitesyncstatus"),
    ("connect", "view_installation"),
]


def _permissions(apps):
    for label in {app for app, _ in GRANTS}:
        app_config = apps.get_app_config(label)
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None
    Permission = apps.get_model("auth", "Permission")
    return [
        Permission.objects.get(content_type__app_label=app, codename=codename)
        for app, codename in GRANTS
    ]


def grant(apps, schema_editor):
    group = apps.get_model("auth", "Group").objects.filter(name=GROUP_NAME).first()
    if group is not None:
        group.permissions.add(*_permissions(apps))


def revoke(apps, schema_editor):
    for group in apps.get_model("auth", "Group").objects.filter(name=GROUP_NAME):
        for app, codename in GRANTS:
            group.permissions.remove(
                *group.permissions.filter(content_type__app_label=app, codename=codename)
            )


class Migration(migrations.Migration):
    dependencies = [
        ("connect", "0001_installation"),
        ("incidents", "0008_sync_state_withheld"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(grant, revoke)]
