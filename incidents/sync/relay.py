"""The relay: sends what the outbox (`incidents.models.outbox`) says each Jira site still needs.

A worker (`manage.py jira_sync`) calls `relay_once()` in a loop. Per site it claims due rows with
`SELECT … FOR UPDATE SKIP LOCKED` and a lease, commits, reads the entities' *current* state, sends
them in bulk (≤1000 per request, grouped by workspace with `properties.workspaceId`), and then
clears only the rows whose change token is still the one it claimed. A worker killed at any point
leaves claimed rows that another worker takes once the lease ends; nothing is lost, and because
every send carries the entity's latest state and sequence number, duplicates are harmless.

A site's round is five steps (links, incidents, reviews, then the checks of delivered deletes),
each claiming and sending on its own and recording outcomes request by request, so a failing
step does not starve the others; a failed request backs off only its own rows. A pause asked by
Jira is shared by every worker through the database (`incidents.sync.pause`). On PostgreSQL a
batch of incidents or reviews is on the wire while the next is claimed and read
(`OverlappedSends`). docs/sync.md has the whole picture.
"""

from __future__ import annotations

import contextlib
import functools
import itertools
import logging
import os
import socket
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import connection, connections, models, transaction
from django.db.models import Exists, OuterRef, Q, Subquery
from django.utils import timezone

from connect.client import (
    MAX_ENTITIES_PER_REQUEST,
    MAX_WORKSPACE_IDS_PER_REQUEST,
    EncodedBody,
    JiraAuthError,
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
from incidents.sync.batches import chunks
from incidents.sync.pause import SitePause, SitePaused, paused_until
from incidents.sync.payloads import current_payloads, refusal

logger = logging.getLogger(__name__)

Kind = SyncState.Kind
WORKSPACE_PROPERTY = "workspaceId"
#: One request to Jira, ready to send: its outcomes, one per row it carries.
Request = Callable[[], list["Outcome"]]


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
    #: Send a batch while the next is claimed and read, where that is safe (`can_overlap`).
    overlap_sends: bool = True


def product_name() -> str:
    return f"{settings.CONNECT_APP_NAME} {_release()}"


@functools.cache
def _release() -> str:
    """The installed package's version, read once: the lookup scans the installed packages."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("jira-ops-portal")
    except PackageNotFoundError:
        return "dev"


# --- Choosing and claiming work ----------------------------------------------------------------


def sites_with_due_work(now=None) -> list[int]:
    """Active sites with due rows or tombstones to check, neither paused nor waiting for staff.

    One probe per site through the outbox's per-site indexes, so a round's cost follows the
    number of sites, not the size of the backlog. The due probe asks for the site's first due
    row in `sync_site_due_idx`'s order (the site as a range of one value, as in
    `due_in_claim_order`) rather than whether one exists: with statistics taken while every row
    was pending, as after a large drain, the planner expects any row to do and answers `EXISTS`
    by reading the whole outbox, and `sync_due_idx`, of every site, would walk the other sites'
    due rows."""
    now = now or timezone.now()
    first_due = (
        SyncState.objects.due(now)
        .filter(installation_id__gte=OuterRef("pk"), installation_id__lte=OuterRef("pk"))
        .order_by("installation_id", "next_attempt_at")
        .values("next_attempt_at")[:1]
    )
    to_verify = SyncState.objects.to_verify(now).filter(installation=OuterRef("pk"))
    return list(
        Installation.objects.filter(state=Installation.State.INSTALLED, enabled=True)
        .exclude(sync_status__needs_attention=True)
        .exclude(sync_status__paused_until__gt=now)
        .annotate(first_due=Subquery(first_due))
        .filter(Q(first_due__isnull=False) | Exists(to_verify))
        .order_by("pk")
        .values_list("pk", flat=True)
    )


def due_in_claim_order(
    installation_id: int, kind: str, now: datetime
) -> models.QuerySet[SyncState]:
    """A site's due rows of one kind, oldest change first, read from `sync_claim_idx`.

    The site and kind are ranges of one value, not equalities: an equality makes them constants
    the planner drops from the order, and `sync_changed_idx` (changed_at, id) then looks as
    good; with statistics taken before a backlog drained, it walks that index through every row
    already sent, a claim's cost growing with the drain. Kept in the order, they leave
    `sync_claim_idx` (pending rows only) the one index that gives it."""
    return (
        SyncState.objects.due(now)
        .filter(
            installation_id__gte=installation_id,
            installation_id__lte=installation_id,
            kind__gte=kind,
            kind__lte=kind,
        )
        .order_by("installation_id", "kind", "changed_at", "id")
    )


class StepBudget:
    """How many full batches a step claims in a row. BATCHES_PER_STEP, then as many again each
    time nothing else waits: no other site has due work, and this site no due row of another
    kind. So one large backlog drains without a new round (and the pause between rounds)
    every BATCHES_PER_STEP batches, yet another site, or the site's reviews behind its
    incidents, still get their turn as soon as they have work."""

    def __init__(self, installation_id: int, kind: str) -> None:
        self.installation_id = installation_id
        self.kind = kind
        self.granted = BATCHES_PER_STEP

    def allows(self, batches: int) -> bool:
        if batches < self.granted:
            return True
        if self._others_wait():
            return False
        self.granted = batches + BATCHES_PER_STEP
        return True

    def _others_wait(self) -> bool:
        if any(pk != self.installation_id for pk in sites_with_due_work()):
            return True
        now = timezone.now()
        # The first row in the claim's order, not `.exists()`: without the order, statistics
        # from before a drain make the planner read the whole outbox to find none.
        return any(
            due_in_claim_order(self.installation_id, kind, now).values_list("id")[:1]
            for kind in Kind.values
            if kind != self.kind
        )


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
    #: A refusal on the row (kept when its tombstone check finds the entity gone).
    error: str = ""


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
    workers skip them.

    A claimed incident or review row is also marked as possibly held by Jira in the same write,
    before anything of it is sent: if the worker dies after Jira stored the entity, a later
    delete still goes by id. `Claimed.present_in_jira` is the mark as it was before the claim."""
    now = timezone.now()
    chosen: models.QuerySet[SyncState]
    if tombstones:
        chosen = (
            SyncState.objects.to_verify(now)
            .filter(installation_id=installation_id, kind=kind)
            .order_by("changed_at", "id")
        )
    else:
        chosen = due_in_claim_order(installation_id, kind, now)
    chosen = chosen.select_for_update(skip_locked=True)
    changes: dict[str, Any] = {
        "claimed_until": now + timedelta(seconds=config.lease_seconds),
        "claimed_by": worker_id[:64],
    }
    if kind != Kind.WORKSPACE and not tombstones:
        changes["present_in_jira"] = True
    if connection.vendor == "postgresql":
        rows = _lease_returning(chosen.values("id", "present_in_jira")[:limit], changes)
    else:
        with transaction.atomic():
            rows = list(chosen.values_list(*CLAIMED_FIELDS)[:limit])
            if rows:
                SyncState.objects.filter(id__any=[r[0] for r in rows]).update(**changes)
    return [
        Claimed(
            r[0],
            installation_id,
            kind,
            r[1],
            r[2],
            r[3],
            r[4],
            r[5],
            ever_sent=r[6] is not None,
            error=r[7],
        )
        for r in rows
    ]


#: What a claim reads of each row, in `Claimed`'s order (and then the order of the claim).
CLAIMED_FIELDS = (
    "id",
    "external_id",
    "change_token",
    "attempts",
    "present_in_jira",
    "withheld",
    "synced_at",
    "error",
)


def _lease_returning(chosen: models.QuerySet, changes: dict[str, Any]) -> list[tuple]:
    """Lease the chosen rows and read them in one statement (PostgreSQL):
    `WITH chosen AS (SELECT … FOR UPDATE SKIP LOCKED LIMIT n) UPDATE … RETURNING …`, in the
    order chosen. The rows to write are found by `id = ANY(ARRAY(…))`, an index lookup per id,
    where a join with the chosen ids may be planned as a scan of the whole outbox. The mark as
    it was comes from `chosen`: `RETURNING` sees the row as written."""
    meta = SyncState._meta
    quote = connection.ops.quote_name
    table = quote(meta.db_table)
    pk = f"{table}.{quote(_column(meta.pk.name))}"
    with transaction.atomic():  # Django compiles FOR UPDATE only inside a transaction
        inner, inner_params = chosen.query.sql_with_params()
    assignments = ", ".join(f"{quote(_column(name))} = %s" for name in changes)
    returned = ", ".join(
        "chosen.present_in_jira" if name == "present_in_jira" else f"{table}.{quote(_column(name))}"
        for name in (*CLAIMED_FIELDS, "changed_at")
    )
    # Only quoted names from the model's own metadata and Django's compiled SQL are
    # interpolated; values are parameters.
    sql = (
        f"WITH chosen AS MATERIALIZED ({inner}) "  # noqa: S608
        f"UPDATE {table} SET {assignments} FROM chosen "
        f"WHERE {pk} = chosen.id AND {pk} = ANY(ARRAY(SELECT id FROM chosen)) "
        f"RETURNING {returned}"
    )
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql, [*inner_params, *changes.values()])
        rows = cursor.fetchall()
    rows.sort(key=lambda row: (row[-1], row[0]))
    return [row[:-1] for row in rows]


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
    # Not delivered: the request failed in a way worth retrying (`delivered` is False).
    failure: JiraError | None = None


def complete(outcomes: Iterable[Outcome], config: RelayConfig | None = None) -> None:
    """Record delivered rows, unless their entity changed meanwhile (then they stay pending).

    A delivered delete leaves a tombstone checked once later (`verify_tombstones`); a withheld
    row (staff deleted the entity from Jira only) is kept, so the admin can show it.

    Each write is conditional on the row's change token being the one claimed, so the usual
    batch (every row still as claimed) costs one UPDATE and the summaries' refresh; only rows
    left over (changed or deleted meanwhile) are read again."""
    outcomes = list(outcomes)
    if not outcomes:
        return
    config = config or RelayConfig()
    now = timezone.now()
    verify_at = now + timedelta(seconds=config.verify_delete_seconds)
    recorded: list[Delivered] = []
    to_drop: list[Outcome] = []
    for outcome in outcomes:
        absent = not outcome.present
        if absent and not (outcome.verify or outcome.error or outcome.row.withheld):
            to_drop.append(outcome)
            continue
        recorded.append(
            Delivered(
                outcome.row.id,
                outcome.row.change_token,
                outcome.sequence_number,
                outcome.present,
                outcome.error,
                verify_at if absent and outcome.verify else None,
            )
        )
    with transaction.atomic():
        settled = _record_delivered(recorded, now) | _drop_delivered(to_drop)
        left = {o.row.id: o for o in outcomes if o.row.id not in settled}
        if left:
            # Changed meanwhile (a newer token: give the lease back, the row stays pending) or
            # gone (its workspace was unlinked meanwhile).
            still_there = set(
                SyncState.objects.filter(id__any=list(left)).values_list("id", flat=True)
            )
            SyncState.objects.filter(id__any=list(still_there)).update(
                claimed_until=None, claimed_by=""
            )
            gone = [o.row for i, o in left.items() if i not in still_there and o.present]
            if gone:
                _requeue_vanished(gone)
        refresh_sync_summaries((o.row.kind, o.row.external_id) for o in outcomes)


@dataclass(frozen=True)
class Delivered:
    """What a delivered row records: Jira's sequence number, whether Jira holds the entity,
    Jira's refusal if any, when to check a delete; written only if `token` is still current."""

    id: int
    token: str
    sequence_number: int | None
    present: bool
    error: str
    verify_at: datetime | None


def _drop_delivered(outcomes: list[Outcome]) -> set[int]:
    """Delete the rows of delivered deletes that need no check, where still as claimed."""
    if not outcomes:
        return set()
    current = dict(
        SyncState.objects.select_for_update()
        .filter(id__any=[o.row.id for o in outcomes])
        .values_list("id", "change_token")
    )
    ids = [o.row.id for o in outcomes if current.get(o.row.id) == o.row.change_token]
    SyncState.objects.filter(id__any=ids).delete()
    return set(ids)


def _record_delivered(rows: list[Delivered], now: datetime) -> set[int]:
    """Write delivered rows whose change token is still the claimed one, in one statement, and
    return their ids. `WITH v AS (…) UPDATE … FROM v` joins each row's own values by id: on
    PostgreSQL `unnest` of one array per column with the token in the condition (`RETURNING`
    says which were written; the UPDATE re-checks the condition on the latest version of a row
    another transaction changed); on SQLite, one writer at a time, the tokens are read first
    and the rows go as a VALUES list (3.33+). `bulk_update`'s CASE expressions and one
    statement per row are far slower at 1000."""
    if not rows:
        return set()
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
            "change_token",
        )
    }
    verify_field = meta.get_field("verify_at")
    synced_at = meta.get_field("synced_at").get_db_prep_value(now, connection)
    postgresql = connection.vendor == "postgresql"
    if not postgresql:
        current = dict(
            SyncState.objects.filter(id__any=[row.id for row in rows]).values_list(
                "id", "change_token"
            )
        )
        rows = [row for row in rows if current.get(row.id) == row.token]
        if not rows:
            return set()
    columns = [
        (
            row.id,
            row.token,
            row.sequence_number,
            row.present,
            row.error,
            verify_field.get_db_prep_value(row.verify_at, connection),
        )
        for row in rows
    ]
    table = quote(meta.db_table)
    params: list[Any]
    if postgresql:
        # One array per column: six parameters, one statement text, whatever the batch size.
        source = (
            "SELECT * FROM unnest(%s::bigint[], %s::text[], %s::bigint[], %s::boolean[], "
            "%s::text[], %s::timestamptz[])"
        )
        params = [list(values) for values in zip(*columns, strict=True)]
        condition = f" AND {table}.{column['change_token']} = v.token"
        returning = f" RETURNING {table}.{quote(_column(meta.pk.name))}"
    else:
        source = "VALUES " + ", ".join(["(%s, %s, %s, %s, %s, %s)"] * len(columns))
        params = [value for row in columns for value in row]
        condition = returning = ""
    # Only quoted names from the model's own metadata are interpolated; values are parameters.
    sql = (
        f"WITH v(id, token, usn, present, error, verify_at) AS ({source}) "  # noqa: S608
        f"UPDATE {table} SET "
        f"{column['sent_sequence_number']} = v.usn, {column['present_in_jira']} = v.present, "
        f"{column['error']} = v.error, {column['verify_at']} = v.verify_at, "
        f"{column['pending']} = %s, {column['claimed_until']} = NULL, "
        f"{column['claimed_by']} = '', {column['synced_at']} = %s, {column['attempts']} = 0, "
        f"{column['last_attempt_error']} = '' "
        f"FROM v WHERE {table}.{quote(_column(meta.pk.name))} = v.id{condition}{returning}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [*params, False, synced_at])
        if postgresql:
            return {written for (written,) in cursor.fetchall()}
    return {row.id for row in rows}


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


def release_for_retry(
    rows: list[Claimed], error: str, delay: float, *, count_attempt: bool = True
) -> None:
    """Give claimed rows back with a retry time stored on each row: `next_attempt_at` for a
    pending row, `verify_at` for a tombstone whose check failed. A pause of the site is not the
    rows' fault: pass `count_attempt=False` so it does not lengthen their own backoff."""
    if not rows:
        return
    now = timezone.now()
    retry_at = now + timedelta(seconds=delay)
    ids = [r.id for r in rows]
    with transaction.atomic():
        states = list(SyncState.objects.select_for_update().filter(id__any=ids))
        for state in states:
            state.attempts += 1 if count_attempt else 0
            state.claimed_until = None
            state.claimed_by = ""
            state.last_attempt_error = error[:2000]
            if state.pending:
                state.next_attempt_at = retry_at
            elif state.verify_at is not None:
                state.verify_at = retry_at
        SyncState.objects.bulk_update(
            states,
            [
                "attempts",
                "claimed_until",
                "claimed_by",
                "last_attempt_error",
                "next_attempt_at",
                "verify_at",
            ],
            batch_size=500,
        )
        refresh_sync_summaries((r.kind, r.external_id) for r in rows)


def release(rows: Iterable[Claimed], *, until=None) -> None:
    """Give claimed rows back untried: due again at once, or from `until` if given."""
    ids = [row.id for row in rows]
    if not ids:
        return
    changes: dict = {"claimed_until": None, "claimed_by": ""}
    if until is not None:
        changes["next_attempt_at"] = until
    SyncState.objects.filter(id__any=ids).update(**changes)


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


#: Jira's 4xx answers that say nothing about the row itself: 401/403 stop the site for staff,
#: 413 splits the batch, 429 pauses the site. Any other 4xx is permanent for the row it concerns.
NOT_ABOUT_THE_ROW = frozenset({401, 403, 413, 429})


def is_permanent(exc: JiraError) -> bool:
    """A refusal that sending the same thing again would only repeat: kept on the row with
    Jira's message, not retried until the entity changes or staff send it again."""
    status = exc.status
    return (
        not isinstance(exc, JiraUnavailable)
        and status is not None
        and 400 <= status < 500
        and status not in NOT_ABOUT_THE_ROW
    )


def refused(row: Claimed, exc: JiraError, *, present: bool | None = None) -> Outcome:
    """The outcome of a permanent refusal: recorded on the row (Jira's message), not retried."""
    return Outcome(
        row,
        delivered=True,
        present=row.present_in_jira if present is None else present,
        error=f"Jira refused: {exc}",
    )


def failed(rows: Iterable[Claimed], exc: JiraError) -> list[Outcome]:
    """The outcomes of one request that failed: permanent for its rows, or to retry later."""
    if is_permanent(exc):
        return [refused(row, exc) for row in rows]
    return [Outcome(row, delivered=False, failure=exc) for row in rows]


@dataclass
class Plan:
    """A claimed batch made ready to send: its requests, and the rows they carry (the batch
    less the rows given back to wait for their workspace's link)."""

    requests: list[Request]
    rows: list[Claimed]


class SiteSender:
    """Sends one site's claimed rows; each method yields outcomes request by request (a failed
    request as outcomes that are not delivered), so one failure costs only its own rows.

    `SitePaused` and `JiraAuthError` end the site's round and propagate; any other `JiraError`
    becomes the failed request's outcomes."""

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
        for chunk in chunks(to_link, MAX_WORKSPACE_IDS_PER_REQUEST):
            yield self._link(chunk)
        for row in rows:
            if row.external_id not in linked:
                yield [self._unlink(row)]

    def _link(self, rows: list[Claimed]) -> list[Outcome]:
        """Link a chunk; on a permanent refusal split it until the culprit stands alone."""
        try:
            self.client.submit_workspaces([r.external_id for r in rows])
        except (JiraAuthError, SitePaused):
            raise
        except JiraError as exc:
            if len(rows) > 1 and (is_permanent(exc) or isinstance(exc, JiraPayloadTooLarge)):
                middle = len(rows) // 2
                return self._link(rows[:middle]) + self._link(rows[middle:])
            if isinstance(exc, JiraPayloadTooLarge):
                return [refused(rows[0], exc, present=False)]
            return failed(rows, exc)
        return [Outcome(r, delivered=True, present=True) for r in rows]

    def _unlink(self, row: Claimed) -> Outcome:
        """Delete the workspace's data, then the link; a 404 means it is gone already."""
        try:
            with contextlib.suppress(JiraNotFound):
                self.client.delete_by_properties({WORKSPACE_PROPERTY: row.external_id})
            with contextlib.suppress(JiraNotFound):
                self.client.delete_workspaces([row.external_id])
        except (JiraAuthError, SitePaused):
            raise
        except JiraError as exc:
            return failed([row], exc)[0]
        return Outcome(row, delivered=True, present=False)

    def entities(self, kind: str, rows: list[Claimed]) -> Iterable[list[Outcome]]:
        """Upserts in bulk per workspace, then deletes one by one. An entity whose workspace
        link or unlink on this site is still to be sent waits for it (`defer`), so a late
        unlink can never delete what was sent after a relink."""
        for request in self.plan_entities(kind, rows).requests:
            yield request()

    def plan_entities(self, kind: str, rows: list[Claimed]) -> Plan:
        """`entities` in two halves: this reads the database on the calling thread and returns
        the requests, which speak HTTP (and take the site's turn, and the first submit marks
        its rows as possibly in Jira), so another thread may send them while this one goes on
        (`OverlappedSends`)."""
        current = current_payloads(ENTITY_MODELS[kind], [r.external_id for r in rows])
        linked = set(
            WorkspaceLink.objects.filter(
                installation=self.installation,
                workspace_id__any={e.workspace_pk for e in current.values()},
            ).values_list("workspace_id", flat=True)
        )
        unsettled = self._unsettled_workspaces(
            {e.workspace_id for e in current.values() if e.workspace_pk in linked}
        )
        upserts: dict[str, list[tuple[Claimed, dict]]] = defaultdict(list)
        deletes: list[tuple[Claimed, str]] = []
        waiting: list[Claimed] = []
        for row in rows:
            entity = current.get(row.external_id)
            if entity is None or entity.workspace_pk not in linked or row.withheld:
                deletes.append((row, ""))
                continue
            if entity.workspace_id in unsettled:
                waiting.append(row)
                continue
            problem = refusal(entity.payload)
            if problem:
                deletes.append((row, problem))
            else:
                upserts[entity.workspace_id].append((row, entity.payload))
        self.defer(waiting, unsettled)
        # Encoded here, on the thread that reads, so the sending thread only sends.
        requests: list[Request] = [
            functools.partial(
                self._submit, kind, workspace_id, chunk, self._encode(kind, workspace_id, chunk)
            )
            for workspace_id, items in upserts.items()
            for chunk in chunks(items, MAX_ENTITIES_PER_REQUEST)
        ]
        requests += [functools.partial(self._delete_one, kind, row, p) for row, p in deletes]
        deferred = {row.id for row in waiting}
        return Plan(requests, [row for row in rows if row.id not in deferred])

    def _unsettled_workspaces(self, external_ids: set[str]) -> dict[str, datetime]:
        """Workspaces whose link or unlink on this site is still to be sent (or in flight):
        external id → when it is next tried."""
        return dict(
            SyncState.objects.filter(
                installation=self.installation,
                kind=Kind.WORKSPACE,
                external_id__any=external_ids,
                pending=True,
            ).values_list("external_id", "next_attempt_at")
        )

    def defer(self, rows: list[Claimed], unsettled: dict[str, datetime]) -> None:
        """Give back rows waiting for their workspace's link, due when that is next tried.
        Nothing of them was sent, so the claim's present-in-Jira mark goes back to what it was."""
        if not rows:
            return
        now = timezone.now()
        with transaction.atomic():
            release(rows, until=max([now, *unsettled.values()]))
            never_marked = [row for row in rows if not row.present_in_jira]
            if never_marked:
                # Unless the row changed meanwhile (its token is new): a newer change may have
                # set the mark for a reason of its own.
                SyncState.objects.filter(
                    id__any=[row.id for row in never_marked],
                    change_token__any=[row.change_token for row in never_marked],
                ).update(present_in_jira=False)

    def _encode(
        self, kind: str, workspace_id: str, items: list[tuple[Claimed, dict]]
    ) -> EncodedBody:
        return self.client.encode_submission(
            **{REQUEST_KEY[kind]: [payload for _, payload in items]},
            properties={WORKSPACE_PROPERTY: workspace_id},
            provider_metadata={"product": product_name()},
        )

    def _submit(
        self,
        kind: str,
        workspace_id: str,
        items: list[tuple[Claimed, dict]],
        body: EncodedBody | None = None,
    ):
        """Submit one batch (`body`: the batch encoded already); on 413, or a permanent refusal
        of the whole request, split it in two until the culprit stands alone, then record
        Jira's refusal on that entity only."""
        try:
            response = self.client.submit_encoded(body or self._encode(kind, workspace_id, items))
        except (JiraAuthError, SitePaused):
            raise
        except JiraError as exc:
            too_large = isinstance(exc, JiraPayloadTooLarge)
            if not (too_large or is_permanent(exc)):
                return failed([row for row, _ in items], exc)
            if len(items) == 1:
                row, payload = items[0]
                reason = "too large for Jira" if too_large else "refused"
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

    def _delete_one(self, kind: str, row: Claimed, problem: str = "") -> list[Outcome]:
        return [self._delete(kind, row, problem)]

    def _delete(self, kind: str, row: Claimed, problem: str = "") -> Outcome:
        """Delete by id, unless Jira never got the entity. Anything ever sent may be there
        again (a late submit after a delete, an unlink undone before it went), so it goes.

        `problem`: the entity exists but Jira would refuse it (`payloads.refusal`); it is
        withheld from Jira and the reason kept on its row for staff."""
        if not (row.present_in_jira or row.ever_sent):
            return Outcome(row, delivered=True, present=False, error=problem)
        client = self.client
        delete = client.delete_incident if kind == Kind.INCIDENT else client.delete_review
        try:
            delete(row.external_id)
        except JiraNotFound:
            pass
        except (JiraAuthError, SitePaused):
            raise
        except JiraError as exc:
            return failed([row], exc)[0]
        return Outcome(row, delivered=True, present=False, verify=True, error=problem)

    def verify(self, rows: list[Claimed]) -> Iterable[list[Outcome]]:
        """Check tombstones one GET at a time: an entity Jira still (or again) holds is recorded
        as changed, so the next round deletes it again; a failed GET is retried for its row."""
        client = self.client
        for row in rows:
            get = client.get_incident if row.kind == Kind.INCIDENT else client.get_review
            try:
                get(row.external_id)
            except JiraNotFound:
                yield [Outcome(row, delivered=True, present=False, error=row.error)]
                continue
            except (JiraAuthError, SitePaused):
                raise
            except JiraError as exc:
                yield failed([row], exc)
                continue
            logger.warning(
                "Deleted %s %s was back on %s; deleting it again",
                row.kind,
                row.external_id,
                self.installation,
            )
            mark_changed_rows([row])
            # Its token moved on: recording this only gives the lease back.
            yield [Outcome(row, delivered=True, present=True)]


#: A step stops for this round after this many failed requests in a row; its other rows wait
#: for the next round and the site's other steps still run.
STEP_FAILURE_LIMIT = 3
#: Full batches a step sends in one round while nothing fails, and as many again each time nothing
#: else waits (`StepBudget`): a large backlog drains without a new round (and its site query)
#: per batch, and other sites still get their turn.
BATCHES_PER_STEP = 10


@dataclass
class StepResult:
    handled: int = 0
    delivered: int = 0
    failed_requests: int = 0


def run_step(
    installation: Installation,
    rows: list[Claimed],
    send: Callable[[list[Claimed]], Iterable[list[Outcome]]],
    config: RelayConfig,
    client: JiraClient,
) -> StepResult:
    """Send one step's claimed rows request by request, recording each request's outcome as
    it comes: delivered rows are completed, failed ones back off on their own row, refusals
    are kept. Whatever is left untried is given back. Raises `SitePaused` and `JiraAuthError`
    (after giving the rows back) so the caller ends the site's round."""
    result = StepResult()
    remaining = {row.id: row for row in rows}
    failures_in_a_row = 0
    requests = iter(send(rows))
    try:
        for outcomes in requests:
            complete([o for o in outcomes if o.delivered], config)
            retry = [o for o in outcomes if not o.delivered]
            if retry:
                _retry_later(installation, retry, client)
                result.failed_requests += 1
                failures_in_a_row += 1
            else:
                failures_in_a_row = 0
            for outcome in outcomes:
                remaining.pop(outcome.row.id, None)
            result.handled += len(outcomes)
            result.delivered += len(outcomes) - len(retry)
            if failures_in_a_row >= STEP_FAILURE_LIMIT:
                break
    except SitePaused as exc:
        delay = max(0.0, (exc.until - timezone.now()).total_seconds())
        release_for_retry(list(remaining.values()), str(exc), delay, count_attempt=False)
        raise
    except JiraAuthError as exc:
        message = f"Jira refused the portal's credentials ({exc}); check the installation."
        release_for_retry(list(remaining.values()), message, config.backoff_base)
        record_site_error(installation.pk, message, attention=True)
        logger.warning("Site %s needs attention: %s", installation, exc)
        raise
    except Exception as exc:
        logger.exception("Unexpected error while sending to %s", installation)
        attempts = max(r.attempts for r in remaining.values()) + 1 if remaining else 1
        release_for_retry(
            list(remaining.values()), f"Unexpected error: {exc!r}", client.backoff(attempts)
        )
        remaining.clear()
    finally:
        close = getattr(requests, "close", None)
        if close is not None:
            close()
    release(remaining.values())
    return result


def _retry_later(installation: Installation, outcomes: list[Outcome], client: JiraClient) -> None:
    """Back off the rows of one failed request, each from its own attempts."""
    exc = outcomes[0].failure
    rows = [o.row for o in outcomes]
    attempts = max(row.attempts for row in rows) + 1
    delay = client.backoff(attempts, getattr(exc, "retry_after", None))
    release_for_retry(rows, str(exc), delay)
    record_site_error(installation.pk, str(exc))
    logger.info("Site %s: %s; %d row(s) retry in %.1f s", installation, exc, len(rows), delay)


def can_overlap(config: RelayConfig) -> bool:
    """Whether a batch may be on the wire while the next is claimed and read.

    The sending thread has a database connection of its own (the site's turn and pause are
    checked and written around each request, and rows marked as possibly in Jira), so this
    needs a database that takes writes from two connections at once (PostgreSQL, not SQLite),
    and a relay running in autocommit as the worker does: inside a caller's transaction the
    other connection would not see its rows."""
    return (
        config.overlap_sends
        and connection.vendor == "postgresql"
        and not connection.in_atomic_block
    )


class OverlappedSends:
    """One thread that sends a site's requests in order, one at a time, while the relay's
    thread claims, reads and records: a batch of 1000 spends about as long on the wire (and in
    Jira) as in the database, so overlapping the two takes most of one off a large drain.

    Requests go in the order queued, so a site still has one request in flight at a time, and
    each still takes the site's turn and checks its pause (`SitePause`) just before it leaves:
    a 429 heard on one stops the ones queued behind it."""

    def __init__(self) -> None:
        self._executor: ThreadPoolExecutor | None = None
        self._started: list[Future[list[Outcome]]] = []

    def start(self, requests: list[Request]) -> list[Future[list[Outcome]]]:
        if self._executor is None:
            self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="jira-send")
        futures = [self._executor.submit(request) for request in requests]
        self._started = [f for f in self._started if not f.done()] + futures
        return futures

    def close(self) -> None:
        """Drop what has not left, wait for what is in flight, and close the sending thread's
        database connection."""
        if self._executor is None:
            return
        executor, self._executor = self._executor, None
        for future in self._started:
            future.cancel()
        self._started = []
        executor.submit(connections.close_all).result()
        executor.shutdown(wait=True)


def outcomes_of(futures: list[Future[list[Outcome]]]) -> Iterator[list[Outcome]]:
    """The started requests' outcomes in order, as `run_step` takes them. When the step stops
    early, the requests that have not left yet are cancelled and the one in flight is waited
    for, so nothing is sent for rows already given back."""
    try:
        for future in futures:
            yield future.result()
    finally:
        for future in futures:
            future.cancel()
        wait(futures)


#: A batch whose requests are queued: how many rows were claimed, the rows the requests carry,
#: and the requests' outcomes to come.
Started = tuple[int, list[Claimed], list[Future[list[Outcome]]]]


def drain_overlapped(
    installation: Installation,
    kind: str,
    sender: SiteSender,
    config: RelayConfig,
    client: JiraClient,
    worker_id: str,
    sends: OverlappedSends,
) -> StepResult:
    """A step's batches, each batch's requests on the wire while the next batch is claimed and
    read and the previous one's outcomes are recorded. The rules of the plain loop hold: up to
    the full batches `StepBudget` allows; a failed request stops the step (the batch already started
    still has its outcomes recorded); `SitePaused` and `JiraAuthError` end the round."""
    total = StepResult()
    limit = config.batch_size
    budget = StepBudget(installation.pk, kind)
    current = _start(sends, sender, kind, claim(installation.pk, kind, limit, worker_id, config))
    batches = 1
    while current is not None:
        upcoming = None
        if current[0] == limit and budget.allows(batches):
            next_rows = claim(installation.pk, kind, limit, worker_id, config)
            upcoming = _start(sends, sender, kind, next_rows)
            batches += 1
        try:
            result = _finish(installation, current, config, client)
        except (SitePaused, JiraAuthError):
            if upcoming is not None:
                with contextlib.suppress(SitePaused, JiraAuthError):
                    _add(total, _finish(installation, upcoming, config, client))
            raise
        _add(total, result)
        if result.failed_requests:
            if upcoming is not None:
                _add(total, _finish(installation, upcoming, config, client))
            break
        current = upcoming
    return total


def _start(
    sends: OverlappedSends, sender: SiteSender, kind: str, rows: list[Claimed]
) -> Started | None:
    """Read a claimed batch and queue its requests; a failure while reading gives its rows
    back to retry later, as `run_step` does for a failure while sending."""
    if not rows:
        return None
    try:
        plan = sender.plan_entities(kind, rows)
    except Exception as exc:
        logger.exception("Unexpected error while reading what to send to %s", sender.installation)
        attempts = max(row.attempts for row in rows) + 1
        release_for_retry(rows, f"Unexpected error: {exc!r}", sender.client.backoff(attempts))
        return None
    # Only the rows the requests carry: the ones given back to wait may be claimed again by
    # the next batch before this one's outcomes are recorded, and must not be released then.
    return len(rows), plan.rows, sends.start(plan.requests)


def _finish(
    installation: Installation, started: Started, config: RelayConfig, client: JiraClient
) -> StepResult:
    """Record a started batch's outcomes request by request (`run_step`)."""
    _, rows, futures = started
    return run_step(installation, rows, lambda _rows: outcomes_of(futures), config, client)


def _add(total: StepResult, result: StepResult) -> None:
    total.handled += result.handled
    total.delivered += result.delivered
    total.failed_requests += result.failed_requests


def relay_site(
    installation: Installation,
    *,
    worker_id: str,
    config: RelayConfig,
    client_factory: Callable[..., JiraClient] = JiraClient,
) -> int:
    """Send one round of a site's due rows, step by step: workspace links, incidents, reviews,
    then the checks of delivered deletes. Each step claims and sends on its own, so a failing
    step does not starve the next; a pause or refused credentials end the round."""
    if paused_until(installation.pk) is not None:
        return 0
    client = client_factory(
        installation,
        send_wrapper=SitePause(installation.pk, default_pause=config.backoff_base),
        max_attempts=config.client_attempts,
        max_retry_wait=config.client_max_retry_wait,
        backoff_base=config.backoff_base,
        backoff_cap=config.backoff_cap,
    )
    sender = SiteSender(installation, client)
    sends = OverlappedSends() if can_overlap(config) else None
    handled = delivered = 0
    plan = [
        (Kind.WORKSPACE, False, sender.workspaces),
        (Kind.INCIDENT, False, lambda rows: sender.entities(Kind.INCIDENT, rows)),
        (Kind.REVIEW, False, lambda rows: sender.entities(Kind.REVIEW, rows)),
        (Kind.INCIDENT, True, sender.verify),
        (Kind.REVIEW, True, sender.verify),
    ]
    try:
        for kind, tombstones, send in plan:
            if sends is not None and kind in ENTITY_MODELS and not tombstones:
                result = drain_overlapped(
                    installation, kind, sender, config, client, worker_id, sends
                )
                handled += result.handled
                delivered += result.delivered
                continue
            limit = VERIFY_BATCH if tombstones else config.batch_size
            # A step keeps draining while it fills its batches without a failure, as long as
            # its budget allows (tombstones: one batch), then the round moves on.
            budget = StepBudget(installation.pk, kind)
            for batches in itertools.count(1):
                rows = claim(installation.pk, kind, limit, worker_id, config, tombstones=tombstones)
                if not rows:
                    break
                result = run_step(installation, rows, send, config, client)
                handled += result.handled
                delivered += result.delivered
                full = len(rows) == limit and not result.failed_requests
                if tombstones or not full or not budget.allows(batches):
                    break
    except SitePaused as exc:
        logger.info("Site %s: %s", installation, exc)
        return handled
    except JiraAuthError:
        return handled
    finally:
        if sends is not None:
            sends.close()
        client.close()
    if delivered:
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
