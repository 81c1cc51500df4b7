"""Incidents, as Jira's Incident schema describes them (spec components.schemas.Incident)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import models, transaction
from django.utils import timezone

from incidents.models.entity import (
    Association,
    JiraEntity,
    JiraEntityQuerySet,
    entity_id_field,
)
from incidents.models.outbox import SyncState
from incidents.models.timeline import IncidentUpdate
from incidents.models.workspaces import Container, Workspace
from incidents.validators import (
    AFFECTED_COMPONENTS_MAX,
    AFFECTED_COMPONENTS_MIN,
)


class Incident(JiraEntity):
    """An incident as Jira's Incident schema describes it (spec components.schemas.Incident)."""

    class Severity(models.TextChoices):
        P1 = "P1", "P1 (highest)"
        P2 = "P2", "P2"
        P3 = "P3", "P3"
        P4 = "P4", "P4"
        P5 = "P5", "P5 (lowest)"
        UNKNOWN = "unknown", "Unknown"

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        RESOLVED = "resolved", "Resolved"
        UNKNOWN = "unknown", "Unknown"

    external_id = entity_id_field("incident id")
    workspace = models.ForeignKey(Workspace, on_delete=models.PROTECT, related_name="incidents")
    severity = models.CharField(
        max_length=7,
        choices=Severity,
        blank=True,
        default="",
        help_text="Leave empty to send no severity.",
    )
    status = models.CharField(max_length=8, choices=Status, default=Status.OPEN)
    created_date = models.DateTimeField(
        "raised at", default=timezone.now, help_text="When the incident was raised."
    )
    resolved_at = models.DateTimeField(
        null=True,
        blank=True,
        editable=False,
        help_text="Set when the status becomes Resolved, cleared if it is reopened.",
    )
    commander = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="commanded_incidents",
        help_text="Who runs the response (the declaring user by default).",
    )
    responders = models.ManyToManyField(
        settings.AUTH_USER_MODEL, blank=True, related_name="responded_incidents"
    )
    affected_containers = models.ManyToManyField(
        Container,
        related_name="incidents",
        help_text=f"{AFFECTED_COMPONENTS_MIN} to {AFFECTED_COMPONENTS_MAX} containers "
        "of the incident's workspace.",
    )

    objects = JiraEntityQuerySet["Incident"].as_manager()

    #: Who (a user) or what (e.g. "API: deploy-bot") makes the next `save()`, for the timeline.
    changed_by: Any = None
    change_source: str = ""

    SYNC_KIND = SyncState.Kind.INCIDENT
    RELATED_FIELD = "affected_containers"
    RELATED_MIN, RELATED_MAX = AFFECTED_COMPONENTS_MIN, AFFECTED_COMPONENTS_MAX
    RELATED_NOUNS = ("affected container", "containers")

    class Meta:
        ordering = ["-created_date", "-pk"]
        indexes = [
            models.Index(fields=["created_date"], name="incidents_incident_created"),
            # (column, id): the admin sorts on a column of few values with the id as
            # tie-breaker, both ways (`incidents.admin.lists`), and filters on it. Not
            # `sync_flags`: the relay rewrites it for every delivered incident, and with no
            # index on it that rewrite stays on the row's page and touches no index (docs/sync.md).
            models.Index(fields=["status", "id"], name="incidents_incident_status_id"),
            models.Index(fields=["severity", "id"], name="incidents_incident_severity_id"),
            models.Index(fields=["summary", "id"], name="incidents_incident_summary_id"),
            models.Index(fields=["last_updated", "id"], name="incidents_incident_updated_id"),
        ]

    def save(self, *args: Any, **kwargs: Any) -> None:
        """Save, stamp `resolved_at`, and add a timeline entry for each change of status,
        severity or commander, in one transaction with the write and its outbox rows."""
        with transaction.atomic(using=kwargs.get("using")):
            before = None
            if not self._state.adding and self.pk is not None:
                before = (
                    Incident.objects.select_for_update()
                    .filter(pk=self.pk)
                    .values("status", "severity", "commander_id")
                    .first()
                )
            if self.status == self.Status.RESOLVED:
                if self.resolved_at is None or (before and before["status"] != self.status):
                    self.resolved_at = timezone.now()
            else:
                self.resolved_at = None
            update_fields = kwargs.get("update_fields")
            if update_fields is not None:
                kwargs["update_fields"] = {*update_fields, "resolved_at"}
            super().save(*args, **kwargs)
            if before is not None:
                self._record_timeline(before)

    def _record_timeline(self, before: Mapping[str, Any]) -> None:
        entries = []
        for field, kind in (
            ("status", IncidentUpdate.Kind.STATUS),
            ("severity", IncidentUpdate.Kind.SEVERITY),
        ):
            old, new = before[field], getattr(self, field)
            if old != new:
                entries.append(IncidentUpdate(kind=kind, old_value=old, new_value=new))
        if before["commander_id"] != self.commander_id:
            entries.append(
                IncidentUpdate(
                    kind=IncidentUpdate.Kind.COMMANDER,
                    old_value=_username(before["commander_id"]),
                    new_value=_username(self.commander_id),
                )
            )
        author = self.changed_by if getattr(self.changed_by, "pk", None) else None
        for entry in entries:
            entry.incident = self
            entry.author = author
            entry.source = self.change_source
        IncidentUpdate.objects.bulk_create(entries)

    @property
    def time_to_resolve(self) -> timedelta | None:
        """From raised to resolved; None while open."""
        if self.resolved_at is None:
            return None
        return max(self.resolved_at - self.created_date, timedelta(0))

    @classmethod
    def before_delete(cls, doomed: models.QuerySet) -> None:
        """Reviews lose these incidents through the cascade: that changes their payload."""
        from incidents.models.reviews import PostIncidentReview

        PostIncidentReview.objects.filter(incidents__in=doomed).bump_sequence()

    def to_jira(self) -> dict:
        """This incident as Jira's Incident schema (see `incidents.sync.payloads`)."""
        from incidents.sync.payloads import incident_to_jira

        return incident_to_jira(self)


class IncidentAssociation(Association):
    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="associations")

    def owner(self) -> Incident:
        return self.incident

    class Meta(Association.Meta):
        constraints = [
            models.UniqueConstraint(
                fields=["incident", "association_type", "value"],
                name="incidents_unique_incident_association",
            )
        ]


def _username(user_id: int | None) -> str:
    if user_id is None:
        return ""
    from django.contrib.auth import get_user_model

    user = get_user_model()._default_manager.filter(pk=user_id).first()
    return user.get_username() if user is not None else ""
