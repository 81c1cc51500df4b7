"""The sync at a glance, for the top of pages: one sentence for an entity over its Jira sites
("On 2 Jira sites; 1 retrying since 14:02: Jira answered 503"), and every site's health for the
home page and the admin index, with the red banner's reason when any site is failing.

Built on `incidents.sync.report`, which holds the per-site words and details.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db.models import Count, Exists, OuterRef, Q
from django.utils import timezone
from django.utils.formats import date_format

from connect.models import Installation
from incidents.models.outbox import SyncState
from incidents.sync import report

ERROR_SHOWN_CHARACTERS = 120


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun if count == 1 else noun + 's'}"


def _clock(value: datetime | None) -> str:
    if value is None:
        return "an unknown time"
    local = timezone.localtime(value)
    same_day = local.date() == timezone.localdate()
    return date_format(local, "H:i" if same_day else "Y-m-d H:i")


def _short(text: str) -> str:
    text = " ".join(text.split()).rstrip(".")
    if len(text) > ERROR_SHOWN_CHARACTERS:
        return text[: ERROR_SHOWN_CHARACTERS - 1] + "…"
    return text


def entity_sentence(sites: Sequence[report.SiteState]) -> str:
    """Where an incident or review stands, in one sentence, from `report.entity_site_states`."""
    linked = [site for site in sites if site.linked]
    if not linked:
        return "On no Jira site: its workspace is linked to none."
    head = f"On {_plural(len(linked), 'Jira site')}"
    parts = []
    for word, phrase in (
        (report.FAILED, "refused by Jira"),
        (report.RETRYING, "retrying"),
        (report.ATTENTION, "held: the site needs attention"),
        (report.PAUSED, "paused"),
        (report.PENDING, "being sent"),
        (report.DELETED, "not in Jira"),
    ):
        group = [site for site in linked if site.word == word]
        if not group:
            continue
        first = group[0].state
        if word == report.RETRYING and first is not None:
            phrase = (
                f"retrying since {_clock(first.changed_at)}: {_short(first.last_attempt_error)}"
            )
        elif word == report.FAILED and first is not None:
            phrase = f"refused by Jira: {_short(first.error)}"
        parts.append(f"{len(group)} {phrase}")
    if not parts:
        every = {1: "it", 2: "both"}.get(len(linked), "all")
        return f"{head}; in sync on {every}."
    return f"{head}; " + "; ".join(parts) + "."


@dataclass(frozen=True)
class SiteHealth:
    installation: Installation
    label: str
    colour: str
    backlog: int
    retrying: int
    failed: int
    last_error: str

    @property
    def failing(self) -> bool:
        """Needs staff: Jira refuses the portal's credentials, retries, or refused an entity."""
        return self.label == "Needs attention" or bool(self.retrying or self.failed)


def sites_health(now: datetime | None = None) -> list[SiteHealth]:
    """Every installed and enabled Jira site with its relay state and outbox figures; two
    queries whatever the number of entities."""
    now = now or timezone.now()
    sites = list(
        Installation.objects.filter(state=Installation.State.INSTALLED, enabled=True)
        .select_related("sync_status")
        .order_by("base_url", "pk")
    )
    not_refused = Q(error="")
    counts = {
        row["installation_id"]: row
        for row in SyncState.objects.filter(installation_id__in=[site.pk for site in sites])
        .order_by()
        .values("installation_id")
        .annotate(
            backlog=Count("pk", filter=Q(pending=True) & not_refused),
            retrying=Count("pk", filter=Q(pending=True) & not_refused & ~Q(last_attempt_error="")),
            failed=Count("pk", filter=~not_refused),
        )
    }
    result = []
    for site in sites:
        label, colour = report.site_health(site, now)
        row: Mapping[str, Any] = counts.get(site.pk, {})
        status = report.site_status_of(site)
        result.append(
            SiteHealth(
                installation=site,
                label=label,
                colour=colour,
                backlog=row.get("backlog", 0),
                retrying=row.get("retrying", 0),
                failed=row.get("failed", 0),
                last_error=_short(status.last_error) if status and status.last_error else "",
            )
        )
    return result


def _failing_words(attention: bool, retrying: int, failed: int) -> str:
    if attention:
        return "needs attention (Jira refuses the portal's credentials)"
    bits = []
    if retrying:
        bits.append("retrying" if retrying is True else f"{retrying} retrying")
    if failed:
        bits.append("refused by Jira" if failed is True else f"{failed} refused by Jira")
    return ", ".join(bits)


def banner(health: Sequence[SiteHealth]) -> str:
    """The red banner's text when any site is failing, else "" (from `sites_health`)."""
    return _banner(
        [
            (site.installation, site.label == "Needs attention", site.retrying, site.failed)
            for site in health
            if site.failing
        ]
    )


def failing_banner() -> str:
    """The same banner from one cheap query (the admin index): which active sites need
    attention, have a change waiting to retry, or have an entity Jira refused."""
    rows = SyncState.objects.filter(installation=OuterRef("pk"))
    retrying = rows.filter(pending=True, error="").exclude(last_attempt_error="")
    failing = (
        Installation.objects.filter(state=Installation.State.INSTALLED, enabled=True)
        .annotate(retrying=Exists(retrying), refused=Exists(rows.exclude(error="")))
        .filter(Q(sync_status__needs_attention=True) | Q(retrying=True) | Q(refused=True))
        .select_related("sync_status")
        .order_by("base_url", "pk")
    )
    return _banner(
        [
            (
                site,
                bool(getattr(report.site_status_of(site), "needs_attention", False)),
                site.retrying,
                site.refused,
            )
            for site in failing
        ]
    )


def _banner(failing: list[tuple[Installation, bool, Any, Any]]) -> str:
    if not failing:
        return ""
    parts = [f"{site}: {_failing_words(*flags)}" for site, *flags in failing]
    return "Jira sync is failing on " + _plural(len(failing), "site") + ": " + "; ".join(parts)
