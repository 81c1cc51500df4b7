"""Incidents, as Jira's Incident schema describes them (spec components.schemas.Incident)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db import models
from django.db.models import Prefetch
from django.utils import timezone

from incidents.models.entity import Association, JiraEntity
from incidents.models.outbox import SyncState
from incidents.models.sequence import SequencedQuerySet
from incidents.models.workspaces import Container, Workspace
from incidents.validators import (
    AFFECTED_COMPONENTS_MAX,
    AFFECTED_COMPONENTS_MIN,
    ENTITY_ID_MAX_LENGTH,
    validate_safe_id,
)


class IncidentQuerySet(SequencedQuerySet):
    def for_jira(self) -> IncidentQuerySet:
        """Incidents with everything `incident_to_jira` reads, in a constant number of queries."""
        return self.prefetch_related(
            Prefetch("affected_containers", queryset=Container.objects.only("id", "external_id")),
            "associations",
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

    external_id = models.CharField(
        "incident id",
        max_length=ENTITY_ID_MAX_LENGTH,
        unique=True,
        validators=[validate_safe_id],
        help_text="Letters, digits and - _ . ~ (it goes into Jira URLs). Fixed once created.",
    )
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
    affected_containers = models.ManyToManyField(
        Container,
        related_name="incidents",
        help_text=f"{AFFECTED_COMPONENTS_MIN} to {AFFECTED_COMPONENTS_MAX} containers "
        "of the incident's workspace.",
    )

    objects = IncidentQuerySet.as_manager()

    SYNC_KIND = SyncState.Kind.INCIDENT
    RELATED_FIELD = "affected_containers"
    RELATED_MIN, RELATED_MAX = AFFECTED_COMPONENTS_MIN, AFFECTED_COMPONENTS_MAX
    RELATED_NOUNS = ("affected container", "containers")

    class Meta:
        ordering = ["-created_date", "-pk"]
        indexes = [
            models.Index(fields=["created_date"], name="incidents_incident_created"),
            # (column, id): the admin sorts on a column of few values with the id as
            # tie-breaker, both ways (`incidents.admin.lists`), and filters on it.
            models.Index(fields=["status", "id"], name="incidents_incident_status_id"),
            models.Index(fields=["severity", "id"], name="incidents_incident_severity_id"),
            models.Index(fields=["sync_flags", "id"], name="incidents_incident_sync_id"),
            models.Index(fields=["summary", "id"], name="incidents_incident_summary_id"),
            models.Index(fields=["last_updated", "id"], name="incidents_incident_updated_id"),
        ]

    @classmethod
    def validate_affected_containers(cls, workspace: Any, containers: Iterable[Container]) -> None:
        """Jira needs 1 to 100 affected containers; ours must be of the incident's workspace."""
        cls.validate_related(workspace, containers)

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
