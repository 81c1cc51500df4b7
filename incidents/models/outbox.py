"""The outbox: what each Jira site must still receive, recorded in the change's own transaction.

One `SyncState` row per (site, kind, external id). A change sets a fresh `change_token` and marks
the row pending; the relay (`incidents.sync.relay`) claims pending rows with a lease, sends the
entity's *current* state (or a delete when it no longer exists or is no longer linked to the
site), and clears the row only if its token has not moved on meanwhile. So rows coalesce, nothing
is lost between a commit and a send, and a send that completes after a newer change leaves the
row pending.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from django.apps import apps
from django.db import connection, models
from django.db.models import Case, Count, Exists, F, OuterRef, Q, Value, When
from django.utils import timezone

from connect.models import Installation
from incidents.models.lookups import one_of


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

    # No index of its own: `one_sync_state_per_site_entity` starts with it. Every index is
    # written again for each delivered row, so the outbox keeps only those its queries walk.
    installation = models.ForeignKey(
        "connect.Installation",
        on_delete=models.CASCADE,
        related_name="sync_states",
        db_index=False,
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
            # The oldest due row (/healthz): pending rows only, so a delivered row, no longer
            # pending, adds nothing to it. Tombstones are found per site
            # (`sync_tombstone_idx`).
            models.Index(
                fields=["next_attempt_at"], condition=models.Q(pending=True), name="sync_due_idx"
            ),
            models.Index(fields=["kind", "external_id"], name="sync_entity_idx"),
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
            # Whether a site has a due row: the first pending row by retry time, per site.
            models.Index(
                fields=["installation", "next_attempt_at"],
                condition=models.Q(pending=True),
                name="sync_site_due_idx",
            ),
            # The admin's outbox list, newest change first.
            models.Index(fields=["changed_at", "id"], name="sync_changed_idx"),
            # Each site's refused rows, for the site list: few rows, so a small index.
            models.Index(fields=["installation"], condition=~Q(error=""), name="sync_failed_idx"),
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


@dataclass(frozen=True)
class EverySiteOf:
    """Entities (external id, workspace pk) to mark on every site that should hold each now (its
    workspace's linked sites) and every site that holds a row for it (so a move or an unlink
    becomes a delete): `incidents.sync.recording.sites_to_tell`, worked out by the database
    inside the upsert instead of row by row in Python."""

    entities: Sequence[tuple[str, int | None]]


def mark_changed(
    kind: str,
    targets: Mapping[str, Iterable[int]] | EverySiteOf,
    *,
    now=None,
    present_in_jira: bool | None = None,
    withheld: bool | None = False,
) -> int:
    """Record that these entities changed for these sites, in the caller's transaction; returns
    how many (site, entity) rows were marked.

    `targets` names the sites: {external id: site pks}, or `EverySiteOf(entities)`. One
    statement whatever the count (an `INSERT … SELECT … ON CONFLICT` keyed by (site, kind, id)):
    an existing row gets a new token and becomes pending and due now, clearing a stored refusal
    (a changed entity is worth resending) and, by default, a staff "Delete from Jira"
    (`withheld=True` records one; `None` keeps what the row says). Pass `present_in_jira=True`
    when Jira may hold the entity although no row says so. The entities' `sync_flags` summary is
    refreshed in the same transaction (`refresh_sync_summary`).
    """
    now = now or timezone.now()
    if isinstance(targets, EverySiteOf):
        if not targets.entities:
            return 0
        entities_sql, entities_params = _rows_sql(
            ("external_id", "workspace_id"), list(targets.entities)
        )
        # The sites of each entity's workspace, and the sites holding a row for it.
        pairs_sql = (
            f"WITH entities AS ({entities_sql}) "  # noqa: S608
            "SELECT l.installation_id, e.external_id FROM entities e "
            f"JOIN {_table(_link_model())} l ON l.workspace_id = e.workspace_id "
            f"UNION SELECT s.installation_id, s.external_id FROM {_table(SyncState)} s "
            "JOIN entities e ON s.external_id = e.external_id WHERE s.kind = %s"
        )
        pairs_params = [*entities_params, kind]
        external_ids: Iterable[str] = (external_id for external_id, _ in targets.entities)
    else:
        pairs = [
            (installation_id, external_id)
            for external_id, installation_ids in targets.items()
            for installation_id in set(installation_ids)
        ]
        if not pairs:
            return 0
        pairs_sql, pairs_params = _rows_sql(("installation_id", "external_id"), pairs)
        external_ids = targets.keys()
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
    stamp = SyncState._meta.get_field("changed_at").get_db_prep_value(now, connection)
    token = (
        "replace(gen_random_uuid()::text, '-', '')"
        if connection.vendor == "postgresql"
        else "lower(hex(randomblob(16)))"
    )
    # Only the model's own table and column names are interpolated; values are parameters.
    sql = (
        f"INSERT INTO {_table(SyncState)} (installation_id, kind, external_id, "  # noqa: S608
        "change_token, pending, changed_at, next_attempt_at, attempts, claimed_by, error, "
        "last_attempt_error, present_in_jira, withheld) "
        f"SELECT p.installation_id, %s, p.external_id, {token}, %s, %s, %s, 0, '', '', '', %s, %s "
        f"FROM ({pairs_sql}) p WHERE true "
        "ON CONFLICT (installation_id, kind, external_id) DO UPDATE SET "
        + ", ".join(f"{name} = excluded.{name}" for name in update_fields)
    )
    params = [kind, True, stamp, stamp, bool(present_in_jira), bool(withheld), *pairs_params]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        marked = cursor.rowcount
    if isinstance(targets, EverySiteOf) and withheld is False:
        _summaries_now_pending(kind, external_ids)
    else:
        refresh_sync_summary(kind, external_ids)
    return marked


# --- The per-entity summary the admin lists sort and filter on ---------------------------------

#: Bits of an incident's or review's `sync_flags`, OR-ed over its outbox rows (one per site).
#: Their numeric order is the order of the admin's "Jira sync" column: never sent (0) < synced
#: < deleted by staff < pending < retrying < failed.
SYNC_ANY_ROW = 1
SYNC_WITHHELD = 2  # staff deleted it from Jira (not pending)
SYNC_PENDING = 4  # pending, no error, no failed attempt
SYNC_RETRYING = 8  # pending, no error, after a failed attempt
SYNC_FAILED = 16  # Jira refused it

_ROW_BITS = (
    (SYNC_FAILED, "s.error <> ''"),
    (SYNC_RETRYING, "s.error = '' AND s.pending AND s.last_attempt_error <> ''"),
    (SYNC_PENDING, "s.error = '' AND s.pending AND s.last_attempt_error = ''"),
    (SYNC_WITHHELD, "s.withheld AND NOT s.pending"),
)
SUMMARISED_KINDS = {"incident": "Incident", "review": "PostIncidentReview"}


def refresh_sync_summary(kind: str, external_ids: Iterable[str] | None = None) -> int:
    """Recompute the `sync_flags` summary of these incidents or reviews (all of the kind if
    None) from their outbox rows, in one statement; returns how many entities changed.

    Every writer of `SyncState` calls it in the same transaction as its write (`mark_changed`
    does so itself), so the admin's lists sort and filter on an indexed column instead of
    evaluating a subquery for every entity."""
    if kind not in SUMMARISED_KINDS:
        return 0
    model = apps.get_model("incidents", SUMMARISED_KINDS[kind])
    flags = " + ".join(f"MAX(CASE WHEN {cond} THEN {bit} ELSE 0 END)" for bit, cond in _ROW_BITS)
    table = _table(model)
    # Each entity's rows through `sync_entity_idx`, correlated to the entity being updated,
    # which is found by its unique external id: a join with the list of ids tends to be
    # planned as a hash join over the whole table, a cost that grows with every entity.
    # Only model table and column names are interpolated; values are parameters.
    summary = (
        f"(SELECT CASE WHEN COUNT(s.id) = 0 THEN 0 ELSE {flags} + {SYNC_ANY_ROW} END "  # noqa: S608
        f"FROM {_table(SyncState)} s WHERE s.kind = %s AND s.external_id = {table}.external_id)"
    )
    which: str = ""
    params: list[Any] = []
    if external_ids is not None:
        ids = list(dict.fromkeys(external_ids))
        if not ids:
            return 0
        which, params = one_of(connection, "external_id", ids, "text")
        which += " AND "
    sql = f"UPDATE {table} SET sync_flags = {summary} WHERE {which}sync_flags <> {summary}"  # noqa: S608
    with connection.cursor() as cursor:
        cursor.execute(sql, [kind, *params, kind])
        return cursor.rowcount


def sync_flags_once_recorded(kind: str) -> Case:
    """An entity's `sync_flags` as recording its change leaves them (pending on every site it
    goes to, unchanged if it goes to none), for the entity's own UPDATE: a bulk update then
    writes each row once, and recording finds the summaries already right."""
    links = _link_model().objects.filter(workspace_id=OuterRef("workspace_id"))
    rows = SyncState.objects.filter(kind=kind, external_id=OuterRef("external_id"))
    return Case(
        When(Exists(links) | Exists(rows), then=Value(SYNC_ANY_ROW | SYNC_PENDING)),
        default=F("sync_flags"),
        output_field=models.PositiveSmallIntegerField(),
    )


def _summaries_now_pending(kind: str, external_ids: Iterable[str]) -> None:
    """After `EverySiteOf` marked every row of these entities pending: the summary of each
    entity with a row is exactly "pending" (cheaper than `refresh_sync_summary`)."""
    if kind not in SUMMARISED_KINDS:
        return
    model = apps.get_model("incidents", SUMMARISED_KINDS[kind])
    ids = list(dict.fromkeys(external_ids))
    source, params = _rows_sql(("external_id",), [(external_id,) for external_id in ids])
    table, pending = _table(model), SYNC_ANY_ROW | SYNC_PENDING
    # Only model table and column names are interpolated; values are parameters.
    sql = (
        f"UPDATE {table} SET sync_flags = {pending} WHERE sync_flags <> {pending} "  # noqa: S608
        f"AND external_id IN (SELECT e.external_id FROM ({source}) e) "
        f"AND EXISTS (SELECT 1 FROM {_table(SyncState)} s "
        f"WHERE s.kind = %s AND s.external_id = {table}.external_id)"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [*params, kind])


def refresh_sync_summaries(entities: Iterable[tuple[str, str]]) -> None:
    """`refresh_sync_summary` for (kind, external id) pairs of any kinds (the relay's rows)."""
    by_kind: dict[str, set[str]] = {}
    for kind, external_id in entities:
        by_kind.setdefault(kind, set()).add(external_id)
    for kind, external_ids in by_kind.items():
        refresh_sync_summary(kind, sorted(external_ids))


def _link_model():
    return apps.get_model("incidents", "WorkspaceLink")


def _table(model) -> str:
    return connection.ops.quote_name(model._meta.db_table)


def _rows_sql(columns: tuple[str, ...], rows: Sequence[tuple]) -> tuple[str, list]:
    """A SELECT yielding these rows, passed as one parameter per column (PostgreSQL arrays)
    or one JSON parameter (SQLite), so a statement's size does not grow with the row count."""
    if connection.vendor == "postgresql":
        types = {"external_id": "text", "workspace_id": "bigint", "installation_id": "bigint"}
        arrays = ", ".join(f"%s::{types[c]}[]" for c in columns)
        return (
            f"SELECT * FROM unnest({arrays}) AS r({', '.join(columns)})",  # noqa: S608
            [[row[i] for row in rows] for i in range(len(columns))],
        )
    picks = ", ".join(f"json_extract(value, '$[{i}]') AS {c}" for i, c in enumerate(columns))
    return f"SELECT {picks} FROM json_each(%s)", [json.dumps(rows)]  # noqa: S608


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
        .order_by("next_attempt_at")  # `sync_due_idx`'s order, also on SQLite
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
