"""An incident's timeline: every status and severity change (old → new, who, when), recorded in
the same transaction as the change by `Incident.save()`, and the notes staff, the API and alert
webhooks add. The timeline stays in the portal: Jira's Incident schema has no place for it.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

from incidents.validators import DESCRIPTION_MAX_LENGTH

SOURCE_MAX_LENGTH = 200


class IncidentUpdate(models.Model):
    class Kind(models.TextChoices):
        DECLARED = "declared", "Declared"
        NOTE = "note", "Note"
        STATUS = "status", "Status changed"
        SEVERITY = "severity", "Severity changed"
        COMMANDER = "commander", "Commander changed"

    incident = models.ForeignKey(
        "incidents.Incident", on_delete=models.CASCADE, related_name="updates"
    )
    kind = models.CharField(max_length=16, choices=Kind, default=Kind.NOTE)
    created_at = models.DateTimeField(default=timezone.now)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    #: Who made the change when it was not a portal user: "API: <integration>", "Alertmanager: …".
    source = models.CharField(max_length=SOURCE_MAX_LENGTH, blank=True)
    old_value = models.CharField(max_length=64, blank=True)
    new_value = models.CharField(max_length=64, blank=True)
    message = models.TextField(max_length=DESCRIPTION_MAX_LENGTH, blank=True)

    class Meta:
        verbose_name = "timeline entry"
        verbose_name_plural = "timeline"
        ordering = ["created_at", "pk"]
        indexes = [models.Index(fields=["incident", "created_at"], name="incidents_update_time")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} at {timezone.localtime(self.created_at):%Y-%m-%d %H:%M}"

    @property
    def actor(self) -> str:
        """Who made this change, in words."""
        if self.author_id is not None:
            return self.author.get_full_name() or self.author.get_username()  # type: ignore[union-attr]
        return self.source or "the portal"
