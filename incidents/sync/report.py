"""What the admin shows about the sync, in words staff can act on at 3 a.m.

Each entity's state on each Jira site it goes to (`entity_site_states`), each site's backlog
(`site_figures`), and the changelist annotation and filters behind the "Jira sync" column.
`SyncState` names entities by (kind, external id), not by a foreign key, so the changelist
reads it through correlated subqueries: one query per page whatever the row count.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from django.db.models import (
    Case,
    Count,
    Exists,
    IntegerField,
    Min,
    OuterRef,
    Q,
    Subquery,
    Value,
    When,
)
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.timesince import timesince, timeuntil

from connect.models import Installation
from incidents.models.outbox import SiteSyncStatus, SyncState

# The first word of every status shown; a browser test relies on these exact words.
SYNCED = "Synced"
PENDING = "Pending"
RETRYING = "Retrying"
FAILED = "Failed"
DELETED = "Deleted"
PAUSED = "Paused"
ATTENTION = "Attention"
WORDS = (SYNCED, PENDING, RETRYING, FAILED, DELETED, PAUSED, ATTENTION)

COLOURS = {
    SYNCED: "#2b8a3e",
    PENDING: "#1c7ed6",
    RETRYING: "#d9480f",
    FAILED: "#b3261e",
    DELETED: "#6c757d",
    PAUSED: "#b08800",
    ATTENTION: "#b3261e",
}


def moment(value: datetime | None, now: datetime | None = None) -> str:
    """A time as staff read it: the local time and how far away it is."""
    if value is None:
        return "never"
    now = now or timezone.now()
    stamp = date_format(timezone.localtime(value), "Y-m-d H:i:s T")
    if abs((value - now).total_seconds()) < 60:
        return f"{stamp} ({'in under a minute' if value > now else 'under a minute ago'})"
    if value > now:
        return f"{stamp} (in {timeuntil(value, now)})"
    return f"{stamp} ({timesince(value, now)} ago)"


def site_status_of(installation: Installation) -> SiteSyncStatus | None:
    """The site's relay health, if the relay ever recorded any (select_related friendly)."""
    try:
        return installation.sync_status
    except SiteSyncStatus.DoesNotExist:
        return None


# --- One entity on its sites -----------------------------------------------------------------


@dataclass(frozen=True)
class SiteState:
    """One row of the "Jira sync" table on an incident or review page."""

    installation: Installation
    word: str
    summary: str
    detail: str
    state: SyncState | None
    linked: bool
    current_sequence_number: int | None

    @property
    def colour(self) -> str:
        return COLOURS[self.word]

    @property
    def synced_at(self) -> datetime | None:
        return self.state.synced_at if self.state else None

    @property
    def sent_sequence_number(self) -> int | None:
        return self.state.sent_sequence_number if self.state else None

    @property
    def behind(self) -> bool:
        """Jira holds an older version than the portal's (or none), where it should hold it."""
        sent = self.sent_sequence_number
        return self.linked and self.word != DELETED and sent != self.current_sequence_number


def _site_hold(installation: Installation, status: SiteSyncStatus | None, now) -> tuple | None:
    """Why the relay is not calling this site now, if it is not."""
    if installation.state != Installation.State.INSTALLED:
        return (
            PAUSED,
            "Site paused",
            "The site has uninstalled the app; nothing is sent until it installs it again "
            "(it then receives everything again).",
        )
    if not installation.enabled:
        return (
            PAUSED,
            "Site paused",
            "The site has disabled the app; nothing is sent until it enables it again.",
        )
    if status and status.needs_attention:
        return (
            ATTENTION,
            "Site needs attention",
            "Jira refused the portal's credentials for this site, so nothing is sent to it. "
            f"Last error: {status.last_error or 'none recorded'}. Fix the cause, then use "
            "“Resume sending” on the site's page.",
        )
    if status and status.paused_until and status.paused_until > now:
        return (
            PAUSED,
            "Site paused",
            f"Jira asked the portal to slow down; sending resumes at "
            f"{moment(status.paused_until, now)}.",
        )
    return None


def describe(
    state: SyncState | None,
    installation: Installation,
    *,
    linked: bool,
    now: datetime | None = None,
) -> tuple[str, str, str]:
    """(word, summary, one-sentence detail) for an entity's row on a site."""
    now = now or timezone.now()
    if state is None:
        return (
            DELETED,
            "Not in Jira",
            "Nothing was ever recorded for this site, so Jira does not hold it. "
            "Use “Send to Jira now” to send it.",
        )
    if state.error:
        return (
            FAILED,
            "Failed",
            f"Jira's message: {state.error.rstrip('.')}. It is not sent again until it "
            "changes: correct it and save, or use “Send to Jira now” to retry as it is.",
        )
    if state.pending:
        hold = _site_hold(installation, site_status_of(installation), now)
        if hold:
            return hold
        what = "A delete from this site" if state.withheld or not linked else "The latest version"
        if state.last_attempt_error:
            due = state.next_attempt_at
            when = f"at {moment(due, now)}" if due > now else "due now"
            return (
                RETRYING,
                "Waiting to retry",
                f"{what} is queued; attempt {state.attempts + 1} {when}. "
                f"Last error: {state.last_attempt_error}",
            )
        if state.claimed_until and state.claimed_until > now:
            return PENDING, "Pending", f"{what} is being sent now."
        return (
            PENDING,
            "Pending",
            f"{what} is queued since {moment(state.changed_at, now)}; the worker sends it "
            "within seconds.",
        )
    if state.withheld:
        return (
            DELETED,
            "Deleted from Jira",
            f"Staff deleted it from this site at {moment(state.synced_at, now)}; it stays in "
            "the portal. Its next change, or “Send to Jira now”, sends it again.",
        )
    if not state.present_in_jira or state.verify_at is not None:
        reason = "its workspace is no longer linked to this site" if not linked else "deleted"
        return DELETED, "Deleted", f"Not in Jira: {reason}."
    return SYNCED, "Synced", f"Jira holds the latest version since {moment(state.synced_at, now)}."


def entity_site_states(kind: str, entity, *, now: datetime | None = None) -> list[SiteState]:
    """The entity's state on every site its workspace is linked to, and on any other site the
    outbox still has a row for (a delete on its way). Two queries."""
    now = now or timezone.now()
    rows = {
        state.installation_id: state
        for state in SyncState.objects.filter(kind=kind, external_id=entity.external_id)
        .select_related("installation", "installation__sync_status")
        .order_by()
    }
    linked = list(
        Installation.objects.filter(workspace_links__workspace_id=entity.workspace_id)
        .select_related("sync_status")
        .order_by("base_url", "pk")
    )
    linked_ids = {site.pk for site in linked}
    others = sorted(
        (state.installation for pk, state in rows.items() if pk not in linked_ids),
        key=lambda site: (site.base_url, site.pk),
    )
    result = []
    for installation in [*linked, *others]:
        state = rows.get(installation.pk)
        is_linked = installation.pk in linked_ids
        word, summary, detail = describe(state, installation, linked=is_linked, now=now)
        result.append(
            SiteState(
                installation=installation,
                word=word,
                summary=summary,
                detail=detail,
                state=state,
                linked=is_linked,
                current_sequence_number=entity.update_sequence_number,
            )
        )
    return result


# --- One site ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class SiteFigures:
    backlog: int
    retrying: int
    failed: int
    withheld: int
    oldest_pending: datetime | None


def site_figures(installation_id: int) -> SiteFigures:
    """How much a site still has to receive, in one query."""
    not_refused = Q(error="")
    figures = SyncState.objects.filter(installation_id=installation_id).aggregate(
        backlog=Count("pk", filter=Q(pending=True) & not_refused),
        retrying=Count("pk", filter=Q(pending=True) & not_refused & ~Q(last_attempt_error="")),
        failed=Count("pk", filter=~not_refused),
        withheld=Count("pk", filter=Q(withheld=True, pending=False)),
        oldest_pending=Min("changed_at", filter=Q(pending=True)),
    )
    return SiteFigures(**figures)


def site_health(installation: Installation, now: datetime | None = None) -> tuple[str, str]:
    """(label, colour) of a site's relay state for the site list."""
    now = now or timezone.now()
    status = site_status_of(installation)
    if installation.state != Installation.State.INSTALLED:
        return "Uninstalled", COLOURS[PAUSED]
    if not installation.enabled:
        return "Disabled", COLOURS[PAUSED]
    if status and status.needs_attention:
        return "Needs attention", COLOURS[ATTENTION]
    if status and status.paused_until and status.paused_until > now:
        local = date_format(timezone.localtime(status.paused_until), "H:i:s")
        return f"Paused until {local}", COLOURS[PAUSED]
    return "Sending", COLOURS[SYNCED]


def attach_site_figures(sites: list[Installation]) -> None:
    """Set `sync_backlog` and `sync_failed` on each of these sites, in one query: a list page
    counts its own rows only, not every site's (as an annotation inside the page's COUNT and
    date bounds would)."""
    not_refused = Q(error="")
    counts: dict[int, Mapping[str, object]] = {
        row["installation_id"]: row
        for row in SyncState.objects.filter(installation_id__in=[site.pk for site in sites])
        .order_by()
        .values("installation_id")
        .annotate(
            backlog=Count("pk", filter=Q(pending=True) & not_refused),
            failed=Count("pk", filter=~not_refused),
        )
    }
    for site in sites:
        row = counts.get(site.pk, {})
        # Figures for the page, not fields of the model: set on the instance.
        vars(site).update(sync_backlog=row.get("backlog", 0), sync_failed=row.get("failed", 0))


# --- Changelists -------------------------------------------------------------------------------

# The worst state of an entity over its sites, as a number to annotate and sort on.
RANKS = {FAILED: 4, RETRYING: 3, PENDING: 2, DELETED: 1, SYNCED: 0}
WORD_OF_RANK = {rank: word for word, rank in RANKS.items()}


def _rows_of(kind: str):
    return SyncState.objects.filter(kind=kind, external_id=OuterRef("external_id"))


def with_sync_rank(queryset, kind: str):
    """Annotate `sync_rank`: the worst state over the entity's sites, None if it has no row."""
    rank = Case(
        When(~Q(error=""), then=Value(RANKS[FAILED])),
        When(Q(pending=True) & ~Q(last_attempt_error=""), then=Value(RANKS[RETRYING])),
        When(pending=True, then=Value(RANKS[PENDING])),
        When(withheld=True, then=Value(RANKS[DELETED])),
        default=Value(RANKS[SYNCED]),
        output_field=IntegerField(),
    )
    worst = _rows_of(kind).annotate(rank=rank).order_by("-rank").values("rank")[:1]
    return queryset.annotate(sync_rank=Subquery(worst, output_field=IntegerField()))


def _out_of_sync(kind: str) -> Exists:
    return Exists(_rows_of(kind).filter(Q(pending=True) | ~Q(error="")))


#: value → (label, condition builder); the "Jira sync" list filter offers them in this order.
SYNC_FILTERS = {
    "out": (
        "Not in sync (pending or failed on any site)",
        lambda kind: _out_of_sync(kind),
    ),
    "failed": ("Failed on any site", lambda kind: Exists(_rows_of(kind).exclude(error=""))),
    "pending": (
        "Pending or retrying",
        lambda kind: Exists(_rows_of(kind).filter(pending=True, error="")),
    ),
    "in": (
        "In sync on every site",
        lambda kind: Exists(_rows_of(kind)) & ~_out_of_sync(kind),
    ),
    "deleted": (
        "Deleted from Jira by staff",
        lambda kind: Exists(_rows_of(kind).filter(withheld=True, pending=False)),
    ),
    "none": ("Never sent to any site", lambda kind: ~Exists(_rows_of(kind))),
}


def filter_by_sync(queryset, kind: str, value: str):
    """Entities in the named sync state (see `SYNC_FILTERS`); an unknown value filters nothing."""
    if value not in SYNC_FILTERS:
        return queryset
    return queryset.filter(SYNC_FILTERS[value][1](kind))
