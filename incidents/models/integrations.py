"""Integrations: how scripts and alerting tools open and update incidents (docs/api.md).

- `Integration`: one workspace's way in, with a bearer token stored only as a SHA-256 hash;
- `AlertGroup`: the one open incident of an integration per alert group (Alertmanager's and
  Grafana's `groupKey`, the generic webhook's and the REST API's `dedup_key`). A conditional
  unique constraint makes the database, not a lock in memory, absorb alert storms;
- `Delivery`: every webhook call, what it did or why it was refused, recorded in the same
  transaction as its effect;
- `IdempotencyKey`: the first answer to a POST carrying an `Idempotency-Key`, replayed on retry.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils import timezone

from incidents.models.incidents import Incident
from incidents.models.workspaces import Workspace

#: 32 random bytes: the 256 bits of a token, in URL-safe base64 (43 characters).
TOKEN_BYTES = 32
#: A token's first characters, kept in clear so staff can tell tokens apart.
TOKEN_HINT_LENGTH = 6
#: `last_used_at` is written at most this often per integration, so a storm does not queue every
#: request on the integration's row lock.
LAST_USED_RESOLUTION = timedelta(seconds=60)

SEVERITY_LEVELS = ("P1", "P2", "P3", "P4", "P5", "unknown")
#: The words alerting tools use, to Jira's levels; anything else becomes `unknown`.
DEFAULT_SEVERITY_MAPPING = {
    "critical": "P1",
    "error": "P2",
    "high": "P2",
    "warning": "P3",
    "info": "P4",
    "low": "P4",
}
DEFAULT_CONTAINER_LABEL = "service"


def default_severity_mapping() -> dict[str, str]:
    return dict(DEFAULT_SEVERITY_MAPPING)


def hash_token(token: str) -> str:
    """SHA-256 of a token: tokens carry 256 random bits, so a fast hash is as strong as a slow
    one, and lookups stay one indexed query."""
    return hashlib.sha256(token.encode()).hexdigest()


def validate_severity_mapping(value: object) -> None:
    if not isinstance(value, dict):
        raise ValidationError("The severity mapping is an object of word → level.")
    for word, level in value.items():
        if not isinstance(word, str) or not word.strip():
            raise ValidationError(f"Mapping key {word!r} is not a word.")
        if level not in SEVERITY_LEVELS:
            raise ValidationError(
                f"{word!r} maps to {level!r}; levels are {', '.join(SEVERITY_LEVELS)}."
            )


def validate_label_name(value: str) -> None:
    if not value or not value.replace("_", "a").isalnum() or value[0].isdigit():
        raise ValidationError(
            f"{value!r} is not a label name (letters, digits and _, not starting with a digit)."
        )


class IntegrationQuerySet(models.QuerySet):
    def active(self) -> IntegrationQuerySet:
        return self.filter(revoked_at__isnull=True)


class Integration(models.Model):
    """One workspace's way in for a script or an alerting tool. The kind picks defaults and the
    snippet shown to staff; it does not limit which endpoints the token may call."""

    class Kind(models.TextChoices):
        API = "api", "REST API"
        ALERTMANAGER = "alertmanager", "Prometheus Alertmanager"
        GRAFANA = "grafana", "Grafana alerting"
        GENERIC = "generic", "Generic webhook"

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="integrations")
    name = models.CharField(max_length=100, help_text="Unique within the workspace.")
    kind = models.CharField(max_length=16, choices=Kind, default=Kind.API)
    severity_mapping = models.JSONField(
        default=default_severity_mapping,
        validators=[validate_severity_mapping],
        help_text="Alert severity words (matched ignoring case) → P1…P5 or unknown. "
        "P1…P5 and unknown themselves are always understood.",
    )
    container_label = models.CharField(
        max_length=100,
        default=DEFAULT_CONTAINER_LABEL,
        validators=[validate_label_name],
        help_text="The alert label naming the affected container (its id or its name).",
    )
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    token_hint = models.CharField(
        max_length=TOKEN_HINT_LENGTH, editable=False, help_text="The token's first characters."
    )
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        editable=False,
        related_name="+",
    )
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)
    revoked_at = models.DateTimeField(null=True, blank=True, editable=False)

    objects = IntegrationQuerySet.as_manager()

    class Meta:
        ordering = ["workspace__name", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["workspace", "name"], name="incidents_unique_integration_name"
            )
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.workspace})"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None

    @property
    def source(self) -> str:
        """How the timeline names this integration, e.g. "Alertmanager: prod-prometheus"."""
        label: str = {
            self.Kind.API: "API",
            self.Kind.ALERTMANAGER: "Alertmanager",
            self.Kind.GRAFANA: "Grafana",
            self.Kind.GENERIC: "Webhook",
        }.get(self.Kind(self.kind), "API")
        return f"{label}: {self.name}"

    def set_new_token(self) -> str:
        """Give this integration a fresh 256-bit token; the token itself, to be shown once."""
        token = secrets.token_urlsafe(TOKEN_BYTES)
        self.token_hash = hash_token(token)
        self.token_hint = token[:TOKEN_HINT_LENGTH]
        return token

    def token_matches(self, token: str) -> bool:
        """Constant-time comparison of a presented token with the stored hash."""
        return hmac.compare_digest(self.token_hash, hash_token(token))

    @classmethod
    def authenticate(cls, token: str) -> Integration | None:
        """The active integration holding this token, or None; marks it used."""
        integration = (
            cls.objects.select_related("workspace").filter(token_hash=hash_token(token)).first()
        )
        if integration is None or not integration.token_matches(token):
            return None
        if not integration.is_active:
            return None
        integration.mark_used()
        return integration

    def mark_used(self) -> None:
        now = timezone.now()
        if self.last_used_at is not None and now - self.last_used_at < LAST_USED_RESOLUTION:
            return
        Integration.objects.filter(pk=self.pk).filter(
            Q(last_used_at__isnull=True) | Q(last_used_at__lt=now - LAST_USED_RESOLUTION)
        ).update(last_used_at=now)
        self.last_used_at = now

    def revoke(self) -> bool:
        """Revoke the token (kept, so deliveries still name the integration); False if it
        already was."""
        if self.revoked_at is not None:
            return False
        self.revoked_at = timezone.now()
        Integration.objects.filter(pk=self.pk, revoked_at__isnull=True).update(
            revoked_at=self.revoked_at
        )
        return True

    def map_severity(self, value: object) -> str:
        """An alert's severity word (or Jira's own level) as Jira's level; `unknown` if not
        understood."""
        if not isinstance(value, str):
            return "unknown"
        word = value.strip()
        for level in SEVERITY_LEVELS:
            if word.lower() == level.lower():
                return level
        mapping = {str(k).lower(): v for k, v in (self.severity_mapping or {}).items()}
        return mapping.get(word.lower(), "unknown")


def group_key_hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


class AlertGroup(models.Model):
    """An alert group (or dedup key) of an integration and the incident it opened.

    At most one open row per integration and key: the conditional unique constraint makes
    concurrent first notifications of one group collide in the database, and the loser reuses
    the winner's incident. Resolving closes the row, so a group that fires again opens a new
    incident.
    """

    integration = models.ForeignKey(
        Integration, on_delete=models.CASCADE, related_name="alert_groups"
    )
    key = models.TextField(help_text="Alertmanager's or Grafana's groupKey, or a dedup_key.")
    key_hash = models.CharField(max_length=64, editable=False)
    incident = models.ForeignKey(
        Incident, on_delete=models.CASCADE, related_name="alert_groups", null=True
    )
    is_open = models.BooleanField(default=True)
    opened_at = models.DateTimeField(default=timezone.now)
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["integration", "key_hash"],
                condition=Q(is_open=True),
                name="incidents_one_open_alert_group",
            )
        ]

    def __str__(self) -> str:
        return f"{self.key} → {self.incident_id}"


class Delivery(models.Model):
    """One webhook call: what it did, or why it was refused."""

    class Outcome(models.TextChoices):
        CREATED = "created", "Opened an incident"
        UPDATED = "updated", "Updated an incident"
        UNCHANGED = "unchanged", "Nothing to change"
        RESOLVED = "resolved", "Resolved an incident"
        IGNORED = "ignored", "Resolved a group with no open incident"
        REFUSED = "refused", "Refused"

    #: The incidents this delivery touched, set by `incidents.api.alerts` on the instance it
    #: returns (the same as `incidents`, without a query).
    touched: list[Any]

    integration = models.ForeignKey(
        Integration, on_delete=models.CASCADE, related_name="deliveries"
    )
    endpoint = models.CharField(max_length=16, choices=Integration.Kind)
    received_at = models.DateTimeField(default=timezone.now)
    outcome = models.CharField(max_length=16, choices=Outcome)
    status_code = models.PositiveSmallIntegerField()
    group_key = models.TextField(blank=True)
    incidents = models.ManyToManyField(Incident, blank=True, related_name="deliveries")
    error = models.TextField(blank=True)

    class Meta:
        verbose_name_plural = "deliveries"
        ordering = ["-received_at", "-pk"]
        indexes = [
            models.Index(fields=["integration", "-received_at"], name="incidents_delivery_recent")
        ]

    def __str__(self) -> str:
        return f"{self.get_outcome_display()} at {self.received_at:%Y-%m-%d %H:%M:%S}"


class IdempotencyKey(models.Model):
    """The first answer to a POST with an `Idempotency-Key`, replayed when the POST is retried.
    Written in the same transaction as the POST's effect: a POST that failed leaves none."""

    integration = models.ForeignKey(
        Integration, on_delete=models.CASCADE, related_name="idempotency_keys"
    )
    key = models.CharField(max_length=255)
    request_hash = models.CharField(max_length=64)
    status_code = models.PositiveSmallIntegerField(null=True)
    response = models.JSONField(null=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["integration", "key"], name="incidents_unique_idempotency_key"
            )
        ]

    def __str__(self) -> str:
        return self.key
