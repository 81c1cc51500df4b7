"""A post-incident review's action items: what must be done, by whom, by when, and the Jira issue
that tracks it. The review's status can follow them (`PostIncidentReview.follow_action_items`).

Action items stay in the portal: Jira's Review schema has no place for them, only for the
review's status, which they drive.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.utils import timezone

from incidents.validators import ASSOCIATION_VALUE_MAX_LENGTH, validate_issue_id_or_key

WHAT_MAX_LENGTH = 500


class ReviewActionItem(models.Model):
    review = models.ForeignKey(
        "incidents.PostIncidentReview", on_delete=models.CASCADE, related_name="action_items"
    )
    what = models.CharField(max_length=WHAT_MAX_LENGTH)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="review_action_items",
    )
    due_date = models.DateField(null=True, blank=True)
    issue_key = models.CharField(
        "Jira issue",
        max_length=ASSOCIATION_VALUE_MAX_LENGTH,
        blank=True,
        help_text="The issue that tracks it, such as OPS-12.",
    )
    done = models.BooleanField(default=False)
    done_at = models.DateTimeField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        verbose_name = "action item"
        ordering = ["done", "due_date", "pk"]
        indexes = [models.Index(fields=["review", "done"], name="incidents_action_review_done")]

    def __str__(self) -> str:
        return self.what

    def save(self, *args: Any, **kwargs: Any) -> None:
        """Save, stamp `done_at`, and let the review's status follow, in one transaction."""
        if self.done and self.done_at is None:
            self.done_at = timezone.now()
        elif not self.done:
            self.done_at = None
        with transaction.atomic(using=kwargs.get("using")):
            super().save(*args, **kwargs)
            self.review.follow_action_items()

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        with transaction.atomic(using=kwargs.get("using")):
            result = super().delete(*args, **kwargs)
            self.review.follow_action_items()
        return result

    def clean(self) -> None:
        self.issue_key = (self.issue_key or "").strip().upper()
        if self.issue_key and len(self.issue_key) <= ASSOCIATION_VALUE_MAX_LENGTH:
            try:
                validate_issue_id_or_key(self.issue_key)
            except ValidationError as exc:
                raise ValidationError({"issue_key": exc.messages}) from exc

    @property
    def overdue(self) -> bool:
        return not self.done and self.due_date is not None and self.due_date < timezone.localdate()
