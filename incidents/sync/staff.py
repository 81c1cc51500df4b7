"""What staff can ask of the sync by hand: send now, resend, delete from Jira, resume a site.

Each function only records in the outbox (`incidents.models.outbox.mark_changed`), in one
transaction, for the sites `incidents.sync.recording.sites_to_tell` names (the same rule every
save follows); the relay worker does the sending. The admin actions call these and report the
figures returned.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from connect.models import Installation
from incidents.models.outbox import SiteSyncStatus, SyncState, mark_changed
from incidents.sync.batches import chunks
from incidents.sync.recording import sites_to_tell

# Entities handled per round trip: keeps every `IN (...)` list well under database limits.
CHUNK = 1000

Entity = tuple[str, int | None]  # (external id, workspace pk)


@dataclass
class Queued:
    """What an action recorded: entities selected, (site, entity) rows marked, the sites."""

    entities: int = 0
    rows: int = 0
    site_ids: set[int] = field(default_factory=set)
    #: Entities that go to no Jira site (their workspace is linked to none).
    on_no_site: int = 0
    #: Entities already in sync on every site (only `send_now` skips those).
    already_in_sync: int = 0
    #: Sites marked that the relay will not call yet (paused, needing attention, uninstalled or
    #: disabled), by name.
    waiting_sites: list[str] = field(default_factory=list)

    @property
    def sites(self) -> int:
        return len(self.site_ids)

    @property
    def queued(self) -> int:
        """Entities marked on at least one site."""
        return self.entities - self.on_no_site - self.already_in_sync


def _in_sync(kind: str, external_ids: list[str]) -> set[tuple[str, int]]:
    """(id, site) pairs Jira holds in the portal's latest state: nothing pending or refused."""
    return set(
        SyncState.objects.filter(
            kind=kind,
            external_id__in=external_ids,
            pending=False,
            error="",
            present_in_jira=True,
            withheld=False,
            verify_at__isnull=True,
        ).values_list("external_id", "installation_id")
    )


def waiting_site_names(site_ids: Iterable[int], now=None) -> list[str]:
    """Sites among these that the relay will not call now, and so will not receive yet."""
    now = now or timezone.now()
    waiting = Installation.objects.filter(pk__in=set(site_ids)).filter(
        ~Q(state=Installation.State.INSTALLED)
        | Q(enabled=False)
        | Q(sync_status__needs_attention=True)
        | Q(sync_status__paused_until__gt=now)
    )
    return [str(site) for site in waiting.order_by("base_url")]


def sites_for(kind: str, entities: Iterable[Entity]) -> dict[int, int]:
    """Site pk → how many of these entities an action would mark there (changes nothing)."""
    counts: dict[int, int] = {}
    for chunk in chunks(entities, CHUNK):
        for sites in sites_to_tell(kind, chunk).values():
            for site in sites:
                counts[site] = counts.get(site, 0) + 1
    return counts


def _queue(kind: str, entities: Iterable[Entity], *, only_out_of_sync: bool, **marking) -> Queued:
    result = Queued()
    with transaction.atomic():
        for chunk in chunks(entities, CHUNK):
            result.entities += len(chunk)
            targets = sites_to_tell(kind, chunk)
            result.on_no_site += len({external_id for external_id, _ in chunk} - set(targets))
            if only_out_of_sync:
                synced = _in_sync(kind, list(targets))
                narrowed = {
                    external_id: {site for site in sites if (external_id, site) not in synced}
                    for external_id, sites in targets.items()
                }
                result.already_in_sync += sum(1 for sites in narrowed.values() if not sites)
                targets = {k: v for k, v in narrowed.items() if v}
            result.rows += mark_changed(kind, targets, **marking)
            for sites in targets.values():
                result.site_ids.update(sites)
    result.waiting_sites = waiting_site_names(result.site_ids)
    return result


def send_now(kind: str, entities: Iterable[Entity]) -> Queued:
    """Make every site where an entity is not in sync (pending, waiting to retry, refused by
    Jira, deleted from Jira by staff, never sent) due now, forgetting errors and backoff.

    A refused entity is sent again as it is; sites already in sync are left alone."""
    return _queue(kind, entities, only_out_of_sync=True)


def resend_everything(kind: str, entities: Iterable[Entity]) -> Queued:
    """Send the entities again to every site they go to, even where they are in sync (for a
    site that lost its data). Same sequence numbers: a site that holds them ignores it."""
    return _queue(kind, entities, only_out_of_sync=False)


def delete_from_jira(kind: str, entities: Iterable[Entity]) -> Queued:
    """Send a delete to every site that holds or should hold the entities, keeping them in the
    portal. They stay out of Jira until their next recorded change (an edit, a change to their
    containers, associations or reviews, a resend, a re-link or a re-install) sends them again.

    Rows are marked as possibly held by Jira, so the relay always sends the DELETE and checks
    later that no late submit brought the entity back."""
    return _queue(kind, entities, only_out_of_sync=False, present_in_jira=True, withheld=True)


def send_rows_again(row_ids: Iterable[int]) -> int:
    """Make these outbox rows due now, forgetting a refusal, the attempts and the backoff, and
    keeping whether Jira may hold the entity and any staff "Delete from Jira". For rows with no
    page of their own, such as a workspace link or unlink Jira refused. Returns rows marked."""
    per_kind: dict[str, dict[str, list[int]]] = {}
    with transaction.atomic():
        rows = SyncState.objects.filter(pk__in=set(row_ids)).values_list(
            "kind", "external_id", "installation_id"
        )
        for kind, external_id, installation_id in rows:
            per_kind.setdefault(kind, {}).setdefault(external_id, []).append(installation_id)
        return sum(
            mark_changed(kind, targets, present_in_jira=None, withheld=None)
            for kind, targets in per_kind.items()
        )


@dataclass
class Resumed:
    sites: int = 0
    #: Pending rows of those sites made due now.
    rows: int = 0
    #: Resumed sites the relay still will not call (uninstalled or disabled), by name.
    inactive_sites: list[str] = field(default_factory=list)


def resume_sending(installation_ids: Iterable[int]) -> Resumed:
    """Clear a site's pause and its wait for staff, and make its pending rows due now, so the
    relay tries again at once. Changes nothing about the site itself (its secret, its state).

    If Jira still refuses the credentials the next send marks the site again."""
    ids = set(installation_ids)
    now = timezone.now()
    with transaction.atomic():
        SiteSyncStatus.objects.filter(installation_id__in=ids).update(
            needs_attention=False, paused_until=None
        )
        rows = SyncState.objects.filter(installation_id__in=ids, pending=True).update(
            next_attempt_at=now
        )
    inactive = Installation.objects.filter(pk__in=ids).filter(
        ~Q(state=Installation.State.INSTALLED) | Q(enabled=False)
    )
    return Resumed(
        sites=len(ids), rows=rows, inactive_sites=[str(s) for s in inactive.order_by("base_url")]
    )
