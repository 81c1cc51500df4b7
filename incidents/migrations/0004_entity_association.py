"""Jira associations (onEntityAssociated), and view-only access to them for the Ops staff group."""

import django.db.models.deletion
import django.utils.timezone
from django.contrib.auth.management import create_permissions
from django.db import migrations, models

GROUP_NAME = "Ops staff"
# Jira writes these rows; staff only look at them.
CODENAME = "view_entityassociation"


def grant_view(apps, schema_editor):
    app_config = apps.get_app_config("incidents")
    app_config.models_module = True
    create_permissions(app_config, apps=apps, verbosity=0)
    app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    group = Group.objects.filter(name=GROUP_NAME).first()
    if group is not None:
        group.permissions.add(
            Permission.objects.get(content_type__app_label="incidents", codename=CODENAME)
        )


def revoke_view(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    for group in Group.objects.filter(name=GROUP_NAME):
        group.permissions.remove(*group.permissions.filter(codename=CODENAME))


class Migration(migrations.Migration):
    dependencies = [
        ("connect", "0001_installation"),
        ("incidents", "0003_sync_state"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [
        migrations.CreateModel(
            name="EntityAssociation",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "entity_kind",
                    models.CharField(
                        choices=[("container", "Container"), ("incident", "Incident")],
                        max_length=16,
                        verbose_name="kind",
                    ),
                ),
                ("entity_id", models.CharField(max_length=255, verbose_name="entity id")),
                (
                    "entity_ari",
                    models.CharField(blank=True, max_length=500, verbose_name="entity ARI"),
                ),
                (
                    "target_ati",
                    models.CharField(blank=True, max_length=255, verbose_name="Jira type"),
                ),
                ("target_ari", models.CharField(max_length=500, verbose_name="Jira ARI")),
                (
                    "target_cloud_id",
                    models.CharField(blank=True, max_length=255, verbose_name="Jira cloud id"),
                ),
                ("target_id", models.CharField(blank=True, max_length=255, verbose_name="Jira id")),
                (
                    "associated_by",
                    models.CharField(
                        blank=True,
                        help_text="Atlassian account id of the Jira user who connected it, when Jira says.",
                        max_length=128,
                        verbose_name="associated by",
                    ),
                ),
                ("associated_at", models.DateTimeField(default=django.utils.timezone.now)),
                (
                    "container",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="jira_associations",
                        to="incidents.container",
                    ),
                ),
                (
                    "incident",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="jira_associations",
                        to="incidents.incident",
                    ),
                ),
                (
                    "installation",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="entity_associations",
                        to="connect.installation",
                        verbose_name="Jira site",
                    ),
                ),
            ],
            options={
                "verbose_name": "Jira association",
                "ordering": ["-associated_at", "-pk"],
                "constraints": [
                    models.UniqueConstraint(
                        fields=("installation", "entity_kind", "entity_id", "target_ari"),
                        name="incidents_unique_entity_association",
                    ),
                    models.CheckConstraint(
                        condition=models.Q(
                            models.Q(
                                ("container__isnull", False),
                                ("entity_kind", "container"),
                                ("incident", None),
                            ),
                            models.Q(
                                ("container", None),
                                ("entity_kind", "incident"),
                                ("incident__isnull", False),
                            ),
                            _connector="OR",
                        ),
                        name="incidents_entity_association_kind_matches",
                    ),
                ],
            },
        ),
        migrations.RunPython(grant_view, revoke_view),
    ]
