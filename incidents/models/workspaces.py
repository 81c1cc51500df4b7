"""Workspaces, the Jira sites they are linked to, and their containers.

Field limits are Jira's (see `incidents.validators`).
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models, transaction

from incidents.models.fields import WebURLField
from incidents.sync.recording import record_workspace_linked, record_workspace_unlinked
from incidents.validators import (
    ENTITY_ID_MAX_LENGTH,
    URL_MAX_LENGTH,
    validate_container_id,
    validate_incident_prefix,
    validate_safe_id,
)

NAME_MAX_LENGTH = 255


class WorkspaceQuerySet(models.QuerySet):
    def delete(self) -> tuple[int, dict[str, int]]:
        """Deleting workspaces unlinks them from their sites first, recorded like any unlink."""
        with transaction.atomic(using=self.db):
            for link in WorkspaceLink.objects.filter(workspace__in=self).select_related(
                "workspace"
            ):
                link.delete()
            return super().delete()


class Workspace(models.Model):
    """A provider workspace, shown to Jira through fetchWorkspaces and linked to Jira sites.

    Links are made by staff, never automatically on install: a genuine install is not an
    authorised customer (docs/connect.md).
    """

    external_id = models.CharField(
        "workspace id",
        max_length=ENTITY_ID_MAX_LENGTH,
        unique=True,
        validators=[validate_safe_id],
        help_text="Stable id Jira stores; letters, digits and - _ . ~. Fixed once created.",
    )
    name = models.CharField(max_length=NAME_MAX_LENGTH)
    url = WebURLField("URL", max_length=URL_MAX_LENGTH, help_text="Where Jira links to.")
    avatar_url = WebURLField("avatar URL", max_length=URL_MAX_LENGTH, blank=True)
    incident_prefix = models.CharField(
        max_length=16,
        default="INC",
        validators=[validate_incident_prefix],
        help_text="New incidents of this workspace get ids <prefix>-<n>, e.g. INC-42.",
    )
    incident_counter = models.PositiveBigIntegerField(
        default=0, editable=False, help_text="The last <n> given to a new incident."
    )
    sites = models.ManyToManyField(
        "connect.Installation",
        through="WorkspaceLink",
        related_name="workspaces",
        blank=True,
        verbose_name="Jira sites",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = WorkspaceQuerySet.as_manager()

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        with transaction.atomic(using=kwargs.get("using")):
            return Workspace.objects.filter(pk=self.pk).delete()

    def link_site(self, installation, *, by=None) -> WorkspaceLink:
        """Link this workspace to a Jira site (idempotent), through `WorkspaceLink.save()`."""
        link, _ = WorkspaceLink.objects.get_or_create(
            workspace=self, installation=installation, defaults={"linked_by": by}
        )
        return link

    def unlink_site(self, installation) -> bool:
        """Unlink a Jira site, through `WorkspaceLink.delete()`; False if it was not linked."""
        link = WorkspaceLink.objects.filter(workspace=self, installation=installation).first()
        if link is None:
            return False
        link.delete()
        return True


class WorkspaceLink(models.Model):
    """A workspace made visible to one Jira site: creating one sends the workspace's data there,
    deleting one removes it (both recorded in the same transaction, `incidents.sync.recording`).
    """

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="links")
    installation = models.ForeignKey(
        "connect.Installation",
        on_delete=models.CASCADE,
        related_name="workspace_links",
        verbose_name="Jira site",
    )
    linked_at = models.DateTimeField(auto_now_add=True)
    linked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        editable=False,
        related_name="+",
    )

    class Meta:
        verbose_name = "linked Jira site"
        constraints = [
            models.UniqueConstraint(
                fields=["workspace", "installation"], name="incidents_unique_workspace_site"
            )
        ]

    def __str__(self) -> str:
        return f"{self.workspace_id} → {self.installation_id}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        adding = self._state.adding
        with transaction.atomic(using=kwargs.get("using")):
            super().save(*args, **kwargs)
            if adding:
                record_workspace_linked(self)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        with transaction.atomic(using=kwargs.get("using")):
            record_workspace_unlinked(self)
            return super().delete(*args, **kwargs)

    def clean(self) -> None:
        installation = self.installation if self.installation_id else None
        if self._state.adding and installation is not None and not installation.is_active:
            raise ValidationError(
                {
                    "installation": (
                        f"{installation} has uninstalled or disabled the app; "
                        "only an active Jira site can be linked."
                    )
                }
            )


class ContainerQuerySet(models.QuerySet):
    def delete(self) -> tuple[int, dict[str, int]]:
        """Incidents lose these containers through the cascade: that changes their payload."""
        from incidents.models.incidents import Incident

        with transaction.atomic(using=self.db):
            Incident.objects.filter(affected_containers__in=self).bump_sequence()
            return super().delete()


class Container(models.Model):
    """A service or component of a workspace: what Jira connects to a project, and what an
    incident affects (its `affectedComponents`).

    Container ids are unique across all workspaces, not only within one: Jira's
    affectedComponents carry bare ids that "must be unique for a given Provider".

    On PostgreSQL the table also has `search_fold`, a column the database computes from `name`
    and `external_id` for searchContainers (migration 0021; Django never reads or writes it). A
    migration that changes either field's type must drop that column first and add it back:
    PostgreSQL refuses to alter a column a generated column uses.
    """

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="containers")
    external_id = models.CharField(
        "container id",
        max_length=ENTITY_ID_MAX_LENGTH,
        unique=True,
        validators=[validate_container_id],
        help_text="Unique across all workspaces; parts may be joined by '/'. Fixed once created.",
    )
    name = models.CharField(max_length=NAME_MAX_LENGTH)
    url = WebURLField("URL", max_length=URL_MAX_LENGTH)
    avatar_url = WebURLField("avatar URL", max_length=URL_MAX_LENGTH, blank=True)
    last_updated = models.DateTimeField(auto_now=True)

    objects = ContainerQuerySet.as_manager()

    class Meta:
        ordering = ["name"]
        indexes = [
            # The admin's container list sorts on these, with the id as tie-breaker.
            models.Index(fields=["name", "id"], name="incidents_container_name_id"),
            models.Index(fields=["last_updated", "id"], name="incidents_container_updated_id"),
        ]

    def __str__(self) -> str:
        return f"{self.name} [{self.external_id}]"

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        return Container.objects.filter(pk=self.pk).delete()
