"""Post-incident reviews, as Jira's Review schema describes them (components.schemas.Review)."""

from __future__ import annotations

from collections.abc import Iterable

from django.db import models
from django.db.models import Count, Q
from django.utils import timezone

from incidents.models.entity import (
    Association,
    JiraEntity,
    JiraEntityQuerySet,
    entity_id_field,
)
from incidents.models.incidents import Incident
from incidents.models.outbox import SyncState
from incidents.models.workspaces import Workspace
from incidents.validators import (
    REVIEWED_INCIDENTS_MAX,
    REVIEWED_INCIDENTS_MIN,
)


class ReviewQuerySet(JiraEntityQuerySet["PostIncidentReview"]):
    def covering_only(self, incident_ids: Iterable[int]) -> ReviewQuerySet:
        """Reviews that cover these incidents and no other: deleting them leaves such a review
        with none, which Jira refuses, so the relay withholds it from Jira (docs/sync.md)."""
        ids = list(incident_ids)
        through = PostIncidentReview.incidents.through
        return (
            self.filter(incidents__in=ids)
            .distinct()
            .exclude(
                pk__in=through.objects.exclude(incident_id__in=ids).values("postincidentreview_id")
            )
        )


class PostIncidentReview(JiraEntity):
    """A post-incident review as Jira's Review schema describes it (components.schemas.Review)."""

    class Status(models.TextChoices):
        IN_PROGRESS = "in progress", "In progress"
        OUTSTANDING_ACTIONS = "outstanding actions", "Outstanding actions"
        COMPLETED = "completed", "Completed"
        UNKNOWN = "unknown", "Unknown"

    external_id = entity_id_field("review id")
    workspace = models.ForeignKey(Workspace, on_delete=models.PROTECT, related_name="reviews")
    status = models.CharField(max_length=19, choices=Status, default=Status.IN_PROGRESS)
    created_date = models.DateTimeField("started at", default=timezone.now)
    status_follows_actions = models.BooleanField(
        "status follows action items",
        default=True,
        help_text="Outstanding actions while any action item is open, Completed when all are "
        "done. Choosing a status by hand turns this off.",
    )
    incidents = models.ManyToManyField(
        Incident,
        related_name="reviews",
        help_text=f"{REVIEWED_INCIDENTS_MIN} to {REVIEWED_INCIDENTS_MAX} incidents "
        "of the review's workspace.",
    )

    objects = ReviewQuerySet.as_manager()

    SYNC_KIND = SyncState.Kind.REVIEW
    RELATED_FIELD = "incidents"
    RELATED_MIN, RELATED_MAX = REVIEWED_INCIDENTS_MIN, REVIEWED_INCIDENTS_MAX
    RELATED_NOUNS = ("reviewed incident", "incidents")

    class Meta:
        verbose_name = "post-incident review"
        ordering = ["-created_date", "-pk"]
        indexes = [
            models.Index(fields=["created_date"], name="incidents_review_created"),
            models.Index(fields=["status", "id"], name="incidents_review_status_id"),
            models.Index(fields=["summary", "id"], name="incidents_review_summary_id"),
            models.Index(fields=["last_updated", "id"], name="incidents_review_updated_id"),
        ]

    def status_from_action_items(self) -> str | None:
        """The status the action items call for, None if the review has none."""
        counts = self.action_items.aggregate(
            total=Count("pk"), open=Count("pk", filter=Q(done=False))
        )
        if not counts["total"]:
            return None
        return self.Status.OUTSTANDING_ACTIONS if counts["open"] else self.Status.COMPLETED

    def follow_action_items(self) -> bool:
        """Set the status the action items call for, unless staff chose it; a save like any
        other, so Jira hears of it. True if the status changed."""
        if not self.status_follows_actions:
            return False
        wanted = self.status_from_action_items()
        if wanted is None or wanted == self.status:
            return False
        self.status = wanted
        self.save(update_fields=["status"])
        return True

    def to_jira(self) -> dict:
        """This review as Jira's Review schema (see `incidents.sync.payloads`)."""
        from incidents.sync.payloads import review_to_jira

        return review_to_jira(self)


class ReviewAssociation(Association):
    review = models.ForeignKey(
        PostIncidentReview, on_delete=models.CASCADE, related_name="associations"
    )

    def owner(self) -> PostIncidentReview:
        return self.review

    class Meta(Association.Meta):
        constraints = [
            models.UniqueConstraint(
                fields=["review", "association_type", "value"],
                name="incidents_unique_review_association",
            )
        ]
