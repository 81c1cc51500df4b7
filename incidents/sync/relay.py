"""The relay: sends what the outbox (`incidents.models.outbox`) says each Jira site still needs.

A worker (`manage.py jira_sync`) calls `relay_once()` in a loop. Per site it claims due rows with
`SELECT … FOR UPDATE SKIP LOCKED` and a lease, commits, reads the entities' *current* state, sends
them in bulk (≤1000 per request, grouped by workspace with `properties.workspaceId`), and then
clears only the rows whose change token is still the one it claimed. A worker killed at any point
leaves claimed rows that another worker takes once the lease ends; nothing is lost, and because
every send carries the entity's latest state and sequence number, duplicates are harmless.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import timedelta

from django.conf import settings
from django.db import connection, models, transaction
from django.utils import timezone

from connect.client import (
    MAX_ENTITIES_PER_REQUEST,
    MAX_WORKSPACE_IDS_PER_REQUEST,
    JiraAuthError,
    JiraBadRequest,
    JiraClient,
    JiraError,
    JiraNotFound,
    JiraPayloadTooLarge,
    JiraUnavailable,
)
from connect.models import Installation
from incidents.models import Incident, PostIncidentReview, WorkspaceLink
from incidents.models.outbox import (
    SiteSyncStatus,
    SyncState,
    mark_changed,
    refresh_sync_summaries,
)
from incidents.sync.payloads import current_payloads

logger = logging.getLogger(__name__)

Kind = SyncState.Kind
WORKSPACE_PROPERTY = "workspaceId"


def default_worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


@dataclass
class RelayConfig:
    """How the relay behaves; defaults come from settings (see `.env.example`)."""

    lease_seconds: float = field(default_factory=lambda: settings.SYNC_LEASE_SECONDS)
    batch_size: int = field(default_factory=lambda: settings.SYNC_BATCH_SIZE)
    backoff_base: float = field(default_factory=lambda: settings.SYNC_BACKOFF_BASE_SECONDS)
    backoff_cap: float = field(default_factory=lambda: settings.SYNC_BACKOFF_CAP_SECONDS)
    client_attempts: int = field(default_factory=lambda: settings.SYNC_CLIENT_ATTEMPTS)
    client_max_retry_wait: float = field(
        default_factory=lambda: settings.SYNC_CLIENT_MAX_RETRY_WAIT_SECONDS
    )
    verify_delete_seconds: float = field(
        default_factory=lambda: settings.SYNC_VERIFY_DELETE_SECONDS
    )


def product_name() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        release = version("jira-ops-portal")
    except PackageNotFoundError:
        release = "dev"
    return f"{settings.CONNECT_APP_NAME} {release}"


# --- Choosing and claiming work ----------------------------------------------------------------


def sites_with_due_work(now=None) -> list[int]:
    """Active sites with due rows or tombstones to check, neither paused nor waiting for staff."""
    now = now or timezone.now()
    sites: set[int] = set()
    for rows in (SyncState.objects.due(now), SyncState.objects.to_verify(now)):
        sites.update(
            rows.filter(
                installation__state=Installation.State.INSTALLED, installation__enabled=True
            )
            .exclude(installation__sync_status__needs_attention=True)
            .exclude(installation__sync_status__paused_until__gt=now)
            .order_by()
            .values_list("installation_id", flat=True)
            .distinct()
        )
    return sorted(sites)


@dataclass(frozen=True)
class Claimed:
    id: int
    installation_id: int
    kind: str
    external_id: str
    change_token: str
    attempts: int
    present_in_jira: bool
    withheld: bool = False
    ever_sent: bool = False


def claim(
    installation_id: int,
    kind: str,
    limit: int,
    worker_id: str,
    config: RelayConfig,
    *,
    tombstones: bool = False,
):
    """Lease up to `limit` due rows (or tombstones to check) of one site and kind; other
    workers skip them."""
    now = timezone.now()
    candidates = SyncState.objects.to_verify(now) if tombstones else SyncState.objects.due(now)
    with transaction.atomic():
        rows = list(
            candidates.filter(installation_id=installation_id, kind=kind)
            .order_by("changed_at", "id")
            .select_for_update(skip_locked=True)
            .values_list(
                "id",
                "external_id",
                "change_token",
                "attempts",
                "present_in_jira",
                "withheld",
                "synced_at",
            )[:limit]
        )
        if rows:
            SyncState.objects.filter(id__in=[r[0] for r in rows]).update(
                claimed_until=now + timedelta(seconds=config.lease_seconds),
                claimed_by=worker_id[:64],
            )
    return [
        Claimed(r[0], installation_id, kind, r[1], r[2], r[3], r[4], r[5], r[6] is not None)
        for r in rows
    ]


# --- Outcomes --------------------------------------------------------------------------------


@dataclass
class Outcome:
    """What one send did to one claimed row."""

    row: Claimed
    delivered: bool
    present: bool = False
    sequence_number: int | None = None
    error: str = ""
    # A delete was sent: keep a tombstone to check later. Otherwise a delivered delete just
    # drops the row.
    verify: bool = False


def complete(outcomes: Iterable[Outcome], config: RelayConfig | None = None) -> None:
    """Record delivered rows, unless their entity changed meanwhile (then they stay pending).

    A delivered delete leaves a tombstone checked once later (`verify_tombstones`); a withheld
    row (staff deleted the entity from Jira only) is kept, so the admin can show it."""
    outcomes = list(outcomes)
    if not outcomes:
        return
    config = config or RelayConfig()
    now = timezone.now()
    verify_at = now + timedelta(seconds=config.verify_delete_seconds)
    by_id = {o.row.id: o for o in outcomes}
    with transaction.atomic():
        current = dict(
            SyncState.objects.select_for_update()
            .filter(id__in=by_id)
            .values_list("id", "change_token")
        )
        done, moved_on, gone = [], [], []
        for row_id, outcome in by_id.items():
            if row_id not in current:
                if outcome.present:
                    gone.append(outcome.row)
            elif current[row_id] == outcome.row.change_token:
                done.append(outcome)
            else:
                moved_on.append(row_id)
        recorded, dropped = [], []
        for outcome in done:
            deleted = not outcome.present and not outcome.error
            if deleted and not outcome.verify and not outcome.row.withheld:
                dropped.append(outcome.row.id)
                continue
            recorded.append(
                (
                    outcome.sequence_number,
                    outcome.present,
                    outcome.error,
                    verify_at if deleted and outcome.verify else None,
                    outcome.row.id,
                )
            )
        SyncState.objects.filter(id__in=dropped).delete()
        _record_delivered(recorded, now)
        SyncState.objects.filter(id__in=moved_on).update(claimed_until=None, claimed_by="")
        if gone:
            _requeue_vanished(gone)
        refresh_sync_summaries((o.row.kind, o.row.external_id) for o in outcomes)


def _record_delivered(rows: list[tuple], now) -> None:
    """Write delivered rows in one statement: `WITH v AS (VALUES …) UPDATE … FROM v` joins
    each row's own values (sequence number, presence, refusal, tombstone check time) by id.
    PostgreSQL and SQLite (3.33+) both run it; `bulk_update`'s CASE expressions and one
    statement per row are far slower at 1000."""
    if not rows:
        return
    meta = SyncState._meta
    quote = connection.ops.quote_name
    column = {
        name: quote(_column(name))
        for name in (
            "sent_sequence_number",
            "present_in_jira",
            "error",
            "verify_at",
            "pending",
            "claimed_until",
            "claimed_by",
            "synced_at",
            "attempts",
            "last_attempt_error",
        )
    }
    verify_field = meta.get_field("verify_at")
    synced_at = meta.get_field("synced_at").get_db_prep_value(now, connection)
    if connection.vendor == "postgresql":
        placeholder = "(%s::bigint, %s::bigint, %s::boolean, %s::text, %s::timestamptz)"
    else:
        placeholder = "(%s, %s, %s, %s, %s)"
    values, params = [], []
    for usn, present, error, verify, pk in rows:
        values.append(placeholder)
        params += [pk, usn, present, error, verify_field.get_db_prep_value(verify, connection)]
    table = quote(meta.db_table)
    # Only quoted names from the model's own metadata are interpolated; values are parameters.
    sql = (
        f"WITH v(id, usn, present, error, verify_at) AS (VALUES {', '.join(values)}) "  # noqa: S608
        f"UPDATE {table} SET "
        f"{column['sent_sequence_number']} = v.usn, {column['present_in_jira']} = v.present, "
        f"{column['error']} = v.error, {column['verify_at']} = v.verify_at, "
        f"{column['pending']} = %s, {column['claimed_until']} = NULL, "
        f"{column['claimed_by']} = '', {column['synced_at']} = %s, {column['attempts']} = 0, "
        f"{column['last_attempt_error']} = '' "
        f"FROM v WHERE {table}.{quote(_column(meta.pk.name))} = v.id"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [*params, False, synced_at])


def _column(name: str) -> str:
    """The column of one of SyncState's concrete fields (get_field may return a relation too)."""
    model_field = SyncState._meta.get_field(name)
    assert isinstance(model_field, models.Field) and model_field.column is not None
    return model_field.column


def mark_changed_rows(rows: list[Claimed]) -> None:
    """Record these rows' entities again, as possibly held by Jira (keeping a staff "Delete
    from Jira", or its clearing by a newer change)."""
    per_kind: dict[str, dict[str, list[int]]] = defaultdict(dict)
    for row in rows:
        per_kind[row.kind].setdefault(row.external_id, []).append(row.installation_id)
    for kind, targets in per_kind.items():
        mark_changed(kind, targets, present_in_jira=True, withheld=None)


def _requeue_vanished(rows: list[Claimed]) -> None:
    """A row dropped while we upserted its entity (its workspace was unlinked meanwhile): the
    entity may be back in Jira after the unlink's bulk delete, so record it again and let the
    next round send whatever is now right (a delete by id)."""
    mark_changed_rows(rows)


def release_for_retry(rows: list[Claimed], error: str, delay: float) -> None:
    """Give claimed rows back with a retry time stored on the row."""
    if not rows:
        return
    now = timezone.now()
    ids = [r.id for r in rows]
    with transaction.atomic():
        states = list(SyncState.objects.select_for_update().filter(id__in=ids))
        for state in states:
            state.attempts += 1
            state.claimed_until = None
            state.claimed_by = ""
            state.last_attempt_error = error[:2000]
            state.next_attempt_at = now + timedelta(seconds=delay)
        SyncState.objects.bulk_update(
            states,
            ["attempts", "claimed_until", "claimed_by", "last_attempt_error", "next_attempt_at"],
            batch_size=500,
        )
        refresh_sync_summaries((r.kind, r.external_id) for r in rows)


def _site_status(installation_id: int) -> SiteSyncStatus:
    status, _ = SiteSyncStatus.objects.get_or_create(installation_id=installation_id)
    return status


def record_site_error(installation_id: int, error: str, *, attention=False, pause=None) -> None:
    status = _site_status(installation_id)
    status.last_error = error[:2000]
    status.last_error_at = timezone.now()
    fields = ["last_error", "last_error_at"]
    if attention:
        status.needs_attention = True
        fields.append("needs_attention")
    if pause is not None:
        status.paused_until = timezone.now() + timedelta(seconds=pause)
        fields.append("paused_until")
    status.save(update_fields=fields)


def record_site_success(installation_id: int, unknown_project_keys: Iterable[str] = ()) -> None:
    status = _site_status(installation_id)
    status.last_success_at = timezone.now()
    fields = ["last_success_at"]
    keys = sorted(set(unknown_project_keys))
    if keys != status.unknown_project_keys and (keys or status.unknown_project_keys):
        status.unknown_project_keys = keys
        fields.append("unknown_project_keys")
    status.save(update_fields=fields)


# --- Sending ---------------------------------------------------------------------------------

ENTITY_MODELS: dict[str, type[Incident] | type[PostIncidentReview]] = {
    Kind.INCIDENT: Incident,
    Kind.REVIEW: PostIncidentReview,
}
# Tombstones checked per site and round: one GET each, so fewer than a bulk send.
VERIFY_BATCH = 100
REQUEST_KEY: dict[str, str] = {Kind.INCIDENT: "incidents", Kind.REVIEW: "reviews"}


def _chunks(items: list, size: int) -> Iterable[list]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _messages(errors) -> str:
    if isinstance(errors, list):
        return "; ".join(
            str(e.get("message", e)) if isinstance(e, dict) else str(e) for e in errors
        )
    return str(errors)


def _failures(response: dict) -> dict[str, str]:
    """Per-entity refusals of a 202: `failedIncidents` (the spec), and any other `failed*` map."""
    failures: dict[str, str] = {}
    for key, value in (response or {}).items():
        if key.startswith("failed") and isinstance(value, dict):
            failures.update({str(k): _messages(v) for k, v in value.items()})
    return failures


class SiteSender:
    """Sends one site's claimed rows; each method yields outcomes request by request, so a
    failure part-way keeps what was already delivered."""

    def __init__(self, installation: Installation, client: JiraClient):
        self.installation = installation
        self.client = client
        self.unknown_project_keys: set[str] = set()

    def workspaces(self, rows: list[Claimed]) -> Iterable[list[Outcome]]:
        linked = set(
            WorkspaceLink.objects.filter(
                installation=self.installation,
                workspace__external_id__in=[r.external_id for r in rows],
            ).values_list("workspace__external_id", flat=True)
        )
        to_link = [r for r in rows if r.external_id in linked]
        to_unlink = [r for r in rows if r.external_id not in linked]
        for chunk in _chunks(to_link, MAX_WORKSPACE_IDS_PER_REQUEST):
            self.client.submit_workspaces([r.external_id for r in chunk])
            yield [Outcome(r, delivered=True, present=True) for r in chunk]
        for chunk in _chunks(to_unlink, MAX_WORKSPACE_IDS_PER_REQUEST):
            for row in chunk:
                self.client.delete_by_properties({WORKSPACE_PROPERTY: row.external_id})
            self.client.delete_workspaces([r.external_id for r in chunk])
            yield [Outcome(r, delivered=True, present=False) for r in chunk]

    def entities(self, kind: str, rows: list[Claimed]) -> Iterable[list[Outcome]]:
        current = current_payloads(ENTITY_MODELS[kind], [r.external_id for r in rows])
        linked = set(
            WorkspaceLink.objects.filter(
                installation=self.installation,
                workspace_id__in={e.workspace_pk for e in current.values()},
            ).values_list("workspace_id", flat=True)
        )
        upserts: dict[str, list[tuple[Claimed, dict]]] = defaultdict(list)
        deletes: list[Claimed] = []
        for row in rows:
            entity = current.get(row.external_id)
            if entity is not None and entity.workspace_pk in linked and not row.withheld:
                upserts[entity.workspace_id].append((row, entity.payload))
            else:
                deletes.append(row)
        if upserts:
            # Recorded before sending: if we die after Jira stored it, a later delete still goes.
            SyncState.objects.filter(
                id__in=[row.id for items in upserts.values() for row, _ in items]
            ).update(present_in_jira=True)
        for workspace_id, items in upserts.items():
            for chunk in _chunks(items, MAX_ENTITIES_PER_REQUEST):
                yield self._submit(kind, workspace_id, chunk)
        for row in deletes:
            yield [self._delete(kind, row)]

    def _submit(self, kind: str, workspace_id: str, items: list[tuple[Claimed, dict]]):
        """Submit one batch; on 413, or a 400 for the whole request, split it in two until the
        culprit stands alone, then record Jira's refusal on that entity only."""
        try:
            response = self.client.submit_entities(
                **{REQUEST_KEY[kind]: [payload for _, payload in items]},
                properties={WORKSPACE_PROPERTY: workspace_id},
                provider_metadata={"product": product_name()},
            )
        except (JiraPayloadTooLarge, JiraBadRequest) as exc:
            if len(items) == 1:
                row, payload = items[0]
                reason = "too large for Jira" if isinstance(exc, JiraPayloadTooLarge) else "refused"
                return [
                    Outcome(
                        row,
                        delivered=True,
                        present=True,
                        sequence_number=payload["updateSequenceNumber"],
                        error=f"Jira {reason}: {exc}",
                    )
                ]
            middle = len(items) // 2
            return self._submit(kind, workspace_id, items[:middle]) + self._submit(
                kind, workspace_id, items[middle:]
            )
        response = response or {}
        self.unknown_project_keys.update(response.get("unknownProjectKeys") or [])
        failures = _failures(response)
        return [
            Outcome(
                row,
                delivered=True,
                present=True,
                sequence_number=payload["updateSequenceNumber"],
                error=failures.get(row.external_id, ""),
            )
            for row, payload in items
        ]

    def _delete(self, kind: str, row: Claimed) -> Outcome:
        """Delete by id, unless Jira never got the entity. Anything ever sent may be there
        again (a late submit after a delete, an unlink undone before it went), so it goes."""
        if row.present_in_jira or row.ever_sent:
            client = self.client
            delete = client.delete_incident if kind == Kind.INCIDENT else client.delete_review
            with contextlib.suppress(JiraNotFound):
                delete(row.external_id)
            return Outcome(row, delivered=True, present=False, verify=True)
        return Outcome(row, delivered=True, present=False)

    def verify(self, rows: list[Claimed]) -> Iterable[list[Outcome]]:
        """Check tombstones: an entity Jira still (or again) holds is sent a delete again."""
        back: list[Claimed] = []
        gone: list[Claimed] = []
        for row in rows:
            client = self.client
            get = client.get_incident if row.kind == Kind.INCIDENT else client.get_review
            try:
                get(row.external_id)
            except JiraNotFound:
                gone.append(row)
            else:
                back.append(row)
        yield [Outcome(row, delivered=True, present=False) for row in gone]
        if back:
            logger.warning(
                "%d deleted entities were back on %s; deleting them again",
                len(back),
                self.installation,
            )
            mark_changed_rows(back)
            SyncState.objects.filter(id__in=[r.id for r in back]).update(
                claimed_until=None, claimed_by=""
            )


def relay_site(
    installation: Installation,
    *,
    worker_id: str,
    config: RelayConfig,
    client_factory: Callable[..., JiraClient] = JiraClient,
) -> int:
    """Send one round of a site's due rows: workspace links first, then incidents, then reviews."""
    client = client_factory(
        installation,
        max_attempts=config.client_attempts,
        max_retry_wait=config.client_max_retry_wait,
        backoff_base=config.backoff_base,
        backoff_cap=config.backoff_cap,
    )
    sender = SiteSender(installation, client)
    handled = 0
    plan = [
        (Kind.WORKSPACE, False, sender.workspaces),
        (Kind.INCIDENT, False, lambda rows: sender.entities(Kind.INCIDENT, rows)),
        (Kind.REVIEW, False, lambda rows: sender.entities(Kind.REVIEW, rows)),
        (Kind.INCIDENT, True, sender.verify),
        (Kind.REVIEW, True, sender.verify),
    ]
    for kind, tombstones, send in plan:
        limit = VERIFY_BATCH if tombstones else config.batch_size
        rows = claim(installation.pk, kind, limit, worker_id, config, tombstones=tombstones)
        if not rows:
            continue
        remaining = {row.id: row for row in rows}
        try:
            for outcomes in send(rows):
                complete(outcomes, config)
                for outcome in outcomes:
                    remaining.pop(outcome.row.id, None)
                handled += len(outcomes)
            handled += len(remaining)  # tombstones found back, already queued again
        except JiraAuthError as exc:
            message = f"Jira refused the portal's credentials ({exc}); check the installation."
            release_for_retry(list(remaining.values()), message, config.backoff_base)
            record_site_error(installation.pk, message, attention=True)
            logger.warning("Site %s needs attention: %s", installation, exc)
            return handled
        except (JiraUnavailable, JiraError) as exc:
            attempts = max(r.attempts for r in remaining.values()) + 1
            retry_after = getattr(exc, "retry_after", None)
            delay = client.backoff(attempts, retry_after)
            release_for_retry(list(remaining.values()), str(exc), delay)
            record_site_error(installation.pk, str(exc), pause=delay if retry_after else None)
            logger.info("Site %s: %s; retrying in %.0f s", installation, exc, delay)
            return handled
        except Exception as exc:
            logger.exception("Unexpected error while sending to %s", installation)
            attempts = max(r.attempts for r in remaining.values()) + 1
            delay = client.backoff(attempts)
            release_for_retry(list(remaining.values()), f"Unexpected error: {exc!r}", delay)
            return handled
    record_site_success(installation.pk, sender.unknown_project_keys)
    return handled


def relay_once(
    *,
    worker_id: str | None = None,
    config: RelayConfig | None = None,
    client_factory: Callable[..., JiraClient] = JiraClient,
) -> int:
    """One pass over every site with due work; returns how many rows were handled."""
    worker_id = worker_id or default_worker_id()
    config = config or RelayConfig()
    handled = 0
    site_ids = sites_with_due_work()
    for installation in Installation.objects.filter(pk__in=site_ids):
        handled += relay_site(
            installation, worker_id=worker_id, config=config, client_factory=client_factory
        )
    return handled


def backlog(installation_id: int | None = None) -> int:
    qs = SyncState.objects.pending()
    if installation_id is not None:
        qs = qs.filter(installation_id=installation_id)
    return qs.count()
