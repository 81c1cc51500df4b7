"""The outbox: what each Jira site must still receive, recorded in the change's own transaction.

One `SyncState` row per (site, kind, external id). A change sets a fresh `change_token` and marks
the row pending; the relay (`incidents/sync.py`) claims pending rows with a lease, sends the
entity's *current* state (or a delete when it no longer exists or is no longer linked to the
site), and clears the row only if its token has not moved on meanwhile. So rows coalesce, nothing
is lost between a commit and a send, and a send that completes after a newer change leaves the
row pending.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from datetime import timedelta

from django.db import models
from django.db.models import Count, Q
from django.utils import timezone

from connect.models import Installation


def new_token() -> str:
    return uuid.uuid4().hex


class SyncStateQuerySet(models.QuerySet):
    def pending(self) -> SyncStateQuerySet:
        return self.filter(pending=True)

    def due(self, now=None) -> SyncStateQuerySet:
        """Pending rows whose retry time has come and whose lease (if any) has ended."""
        now = now or timezone.now()
        return self.filter(pending=True, next_attempt_at__lte=now).filter(
            Q(claimed_until__isnull=True) | Q(claimed_until__lt=now)
        )

    def to_verify(self, now=None) -> SyncStateQuerySet:
        now = now or timezone.now()
        return self.filter(pending=False, verify_at__lte=now).filter(
            Q(claimed_until__isnull=True) | Q(claimed_until__lt=now)
        )

    def failed(self) -> SyncStateQuerySet:
        return self.exclude(error="")


class SyncState(models.Model):
    """The sync state of one entity on one Jira site."""

    class Kind(models.TextChoices):
        WORKSPACE = "workspace", "Workspace link"
        INCIDENT = "incident", "Incident"
        REVIEW = "review", "Post-incident review"

    installation = models.ForeignKey(
        "connect.Installation", on_delete=models.CASCADE, related_name="sync_states"
    )
    kind = models.CharField(max_length=16, choices=Kind)
    external_id = models.CharField(max_length=255)
    # Changes on every recorded change; a send only clears the row if it still matches.
    change_token = models.CharField(max_length=32, default=new_token)
    pending = models.BooleanField(default=True)
    changed_at = models.DateTimeField(default=timezone.now)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    attempts = models.PositiveIntegerField(default=0)
    claimed_until = models.DateTimeField(null=True, blank=True)
    claimed_by = models.CharField(max_length=64, blank=True)
    # What Jira holds after the last successful send.
    synced_at = models.DateTimeField(null=True, blank=True)
    sent_sequence_number = models.BigIntegerField(null=True, blank=True)
    present_in_jira = models.BooleanField(default=False)
    # A tombstone: Jira should no longer hold it; check once at this time that no late
    # submit brought it back (Jira applies deletes whatever their age, submits arrive late).
    verify_at = models.DateTimeField(null=True, blank=True)
    # Jira refused this entity (failedIncidents): not resent until it changes.
    error = models.TextField(blank=True)
    # A transient failure (network, 5xx, 429): retried.
    last_attempt_error = models.TextField(blank=True)
    # Staff took the entity out of Jira but kept it in the portal ("Delete from Jira" in the
    # admin): the relay sends a delete instead of the entity until its next recorded change.
    withheld = models.BooleanField(default=False)

    objects = SyncStateQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["installation", "kind", "external_id"],
                name="one_sync_state_per_site_entity",
            )
        ]
        indexes = [
            models.Index(fields=["pending", "next_attempt_at"], name="sync_due_idx"),
            models.Index(fields=["kind", "external_id"], name="sync_entity_idx"),
            models.Index(fields=["verify_at"], name="sync_verify_idx"),
            # The relay's claim walks this in order (site, kind, oldest change first) and stops
            # at its LIMIT: only pending rows are in it, so its cost does not grow with what
            # was already sent.
            models.Index(
                fields=["installation", "kind", "changed_at", "id"],
                condition=models.Q(pending=True),
                name="sync_claim_idx",
            ),
            models.Index(
                fields=["installation", "kind", "verify_at"],
                condition=models.Q(verify_at__isnull=False),
                name="sync_tombstone_idx",
            ),
        ]
        verbose_name = "sync state"

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.external_id} on {self.installation_id}"

    @property
    def status(self) -> str:
        if self.error:
            return "failed"
        if self.pending:
            return "pending"
        if not self.present_in_jira or self.verify_at is not None:
            return "deleted"  # or a tombstone: a delete went, its check is still to come
        return "synced"


class SiteSyncStatus(models.Model):
    """Per-site health of the relay: paused after a 429, needing attention after a 401/403."""

    installation = models.OneToOneField(
        "connect.Installation", on_delete=models.CASCADE, related_name="sync_status"
    )
    paused_until = models.DateTimeField(null=True, blank=True)
    needs_attention = models.BooleanField(default=False)
    last_error = models.TextField(blank=True)
    last_error_at = models.DateTimeField(null=True, blank=True)
    last_success_at = models.DateTimeField(null=True, blank=True)
    unknown_project_keys = models.JSONField(default=list, blank=True)

    class Meta:
        verbose_name = "site sync status"
        verbose_name_plural = "site sync statuses"

    def __str__(self) -> str:
        return f"Sync status of {self.installation}"


def mark_changed(
    kind: str,
    installation_ids_by_external_id: Mapping[str, Iterable[int]],
    *,
    now=None,
    present_in_jira: bool | None = None,
    withheld: bool | None = False,
) -> int:
    """Record that these entities changed for these sites, in the caller's transaction.

    An upsert keyed by (site, kind, id): an existing row gets a new token and becomes pending and
    due now, clearing a stored refusal (a changed entity is worth resending) and, by default, a
    staff "Delete from Jira" (`withheld=True` records one; `None` keeps what the row says). Pass
    `present_in_jira=True` when Jira may hold the entity although no row says so.
    """
    now = now or timezone.now()
    rows = [
        SyncState(
            installation_id=installation_id,
            kind=kind,
            external_id=external_id,
            change_token=new_token(),
            pending=True,
            changed_at=now,
            next_attempt_at=now,
            attempts=0,
            error="",
            last_attempt_error="",
            present_in_jira=bool(present_in_jira),
            verify_at=None,
            withheld=bool(withheld),
        )
        for external_id, installation_ids in installation_ids_by_external_id.items()
        for installation_id in set(installation_ids)
    ]
    if not rows:
        return 0
    update_fields = [
        "change_token",
        "pending",
        "changed_at",
        "next_attempt_at",
        "attempts",
        "error",
        "last_attempt_error",
        "verify_at",
    ]
    if present_in_jira is not None:
        update_fields.append("present_in_jira")
    if withheld is not None:
        update_fields.append("withheld")
    SyncState.objects.bulk_create(
        rows,
        batch_size=500,
        update_conflicts=True,
        unique_fields=["installation", "kind", "external_id"],
        update_fields=update_fields,
    )
    return len(rows)


def lease_expiry(seconds: float, now=None):
    return (now or timezone.now()) + timedelta(seconds=seconds)


def backlog_summary(now=None) -> dict[str, int | float | None]:
    """The outbox in figures, for `/healthz`: what is waiting, what Jira refused, which sites
    are held back, and how long the oldest due change has waited for a worker.

    That wait counts from when the row became due (`next_attempt_at`), not from the change, so
    a row backing off after a 503 does not make a working relay look stuck; rows of sites that
    are paused, need attention or have uninstalled are not due either. Four small queries; only
    the counts read the whole table (`failed` has no index).
    """
    now = now or timezone.now()
    rows = SyncState.objects.aggregate(
        backlog=Count("pk", filter=Q(pending=True)),
        failed=Count("pk", filter=~Q(error="")),
    )
    # The few relayable sites first, so the oldest due row is read from `sync_due_idx` in order.
    relayable = list(
        Installation.objects.filter(state=Installation.State.INSTALLED, enabled=True)
        .exclude(sync_status__needs_attention=True)
        .exclude(sync_status__paused_until__gt=now)
        .order_by()
        .values_list("pk", flat=True)
    )
    oldest_due = (
        SyncState.objects.due(now)
        .filter(installation_id__in=relayable)
        .order_by("pending", "next_attempt_at")  # the index's order, also for SQLite
        .values_list("next_attempt_at", flat=True)
        .first()
    )
    sites = SiteSyncStatus.objects.filter(
        installation__state=Installation.State.INSTALLED, installation__enabled=True
    ).aggregate(
        needing_attention=Count("pk", filter=Q(needs_attention=True)),
        paused=Count("pk", filter=Q(paused_until__gt=now)),
    )
    return {
        "backlog": rows["backlog"],
        "oldest_pending_age_seconds": (
            round(max(0.0, (now - oldest_due).total_seconds()), 1) if oldest_due else None
        ),
        "failed": rows["failed"],
        "sites_needing_attention": sites["needing_attention"],
        "sites_paused": sites["paused"],
    }
