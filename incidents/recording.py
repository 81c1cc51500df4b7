"""Record in the outbox, inside the caller's transaction, every change a Jira site must hear of.

Every path that changes what Jira should hold ends here: saves and deletes of incidents and
reviews (signals), bulk `update()`s and sequence bumps (`incidents.sequence.entities_changed`),
workspace links and unlinks, and re-installs. Nothing is sent from here; the relay does that.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from incidents.models import Incident, PostIncidentReview, WorkspaceLink
from incidents.outbox import SyncState, mark_changed, new_token

Kind = SyncState.Kind
KIND_OF_MODEL = {Incident: Kind.INCIDENT, PostIncidentReview: Kind.REVIEW}


def _sites_of_workspaces(workspace_ids: Iterable[int]) -> dict[int, list[int]]:
    sites: dict[int, list[int]] = defaultdict(list)
    for workspace_id, installation_id in WorkspaceLink.objects.filter(
        workspace_id__in=set(workspace_ids)
    ).values_list("workspace_id", "installation_id"):
        sites[workspace_id].append(installation_id)
    return sites


def sites_to_tell(kind: str, entities: Iterable[tuple[str, int | None]]) -> dict[str, set[int]]:
    """For (external id, workspace pk) pairs: every site that should hold each entity now, and
    every site that was sent it before (so a move or an unlink becomes a delete)."""
    entities = list(entities)
    sites = _sites_of_workspaces(ws for _, ws in entities if ws is not None)
    targets: dict[str, set[int]] = defaultdict(set)
    for external_id, workspace_id in entities:
        targets[external_id].update(sites.get(workspace_id, ()))
    for external_id, installation_id in SyncState.objects.filter(
        kind=kind, external_id__in=list(targets)
    ).values_list("external_id", "installation_id"):
        targets[external_id].add(installation_id)
    return {k: v for k, v in targets.items() if v}


def record_entities(kind: str, entities: Iterable[tuple[str, int | None]]) -> int:
    """Mark (external id, workspace pk) pairs changed for every site `sites_to_tell` names."""
    entities = list(entities)
    if not entities:
        return 0
    return mark_changed(kind, sites_to_tell(kind, entities))


def record_by_pks(model, pks: Iterable[int]) -> int:
    pks = list(pks)
    if not pks:
        return 0
    rows = model._default_manager.filter(pk__in=pks).values_list("external_id", "workspace_id")
    return record_entities(KIND_OF_MODEL[model], rows)


def record_workspace_linked(link: WorkspaceLink) -> None:
    """A new link: link the workspace on that site, then send the workspace's whole history."""
    site = link.installation_id
    mark_changed(Kind.WORKSPACE, {link.workspace.external_id: [site]})
    for model, kind in KIND_OF_MODEL.items():
        ids = model._default_manager.filter(workspace_id=link.workspace_id).values_list(
            "external_id", flat=True
        )
        mark_changed(kind, {external_id: [site] for external_id in ids})


def record_workspace_unlinked(link: WorkspaceLink) -> None:
    """An unlink: the workspace's data goes from that site by one delete-by-property, so its
    entities' rows become tombstones, checked once later like any delete (a send in flight
    sees the new token and leaves them alone). They keep `present_in_jira`: until that delete
    is sent (and a relink may cancel it), Jira may still hold them."""
    site = link.installation_id
    mark_changed(Kind.WORKSPACE, {link.workspace.external_id: [site]}, present_in_jira=True)
    verify_at = timezone.now() + timedelta(seconds=settings.SYNC_VERIFY_DELETE_SECONDS)
    for model, kind in KIND_OF_MODEL.items():
        ids = model._default_manager.filter(workspace_id=link.workspace_id).values_list(
            "external_id", flat=True
        )
        SyncState.objects.filter(installation_id=site, kind=kind, external_id__in=ids).update(
            pending=False,
            change_token=new_token(),
            verify_at=verify_at,
            error="",
            withheld=False,
        )


def record_reinstall(installation) -> None:
    """Jira deleted the site's data on uninstall: link its workspaces again and resend all."""
    SyncState.objects.filter(installation=installation).update(present_in_jira=False)
    for link in WorkspaceLink.objects.filter(installation=installation).select_related("workspace"):
        record_workspace_linked(link)


# --- Receivers, connected in IncidentsConfig.ready() --------------------------------------------


def entity_saved(sender, instance, raw=False, **kwargs) -> None:
    if not raw:
        record_entities(KIND_OF_MODEL[sender], [(instance.external_id, instance.workspace_id)])


def entity_deleted(sender, instance, **kwargs) -> None:
    record_entities(KIND_OF_MODEL[sender], [(instance.external_id, instance.workspace_id)])


def entities_changed(sender, pks, **kwargs) -> None:
    if sender in KIND_OF_MODEL:
        record_by_pks(sender, pks)


def link_saved(sender, instance, created, raw=False, **kwargs) -> None:
    if created and not raw:
        record_workspace_linked(instance)


def link_deleted(sender, instance, **kwargs) -> None:
    record_workspace_unlinked(instance)


def site_installed(sender, installation, reinstall=False, **kwargs) -> None:
    """A known site installing again may have lost its data (Connect on Forge does not always
    send `uninstalled`), so every install of a known site resends what it should hold; and a
    fresh secret ends any wait for staff after Jira refused the old one."""
    from incidents.outbox import SiteSyncStatus

    SiteSyncStatus.objects.filter(installation=installation).update(
        needs_attention=False, paused_until=None
    )
    if reinstall:
        record_reinstall(installation)


def connect_receivers() -> None:
    from django.db.models.signals import post_delete, post_save

    from connect.signals import installation_installed
    from incidents.sequence import entities_changed as entities_changed_signal

    for model in KIND_OF_MODEL:
        name = model.__name__
        post_save.connect(entity_saved, sender=model, dispatch_uid=f"sync.saved.{name}")
        post_delete.connect(entity_deleted, sender=model, dispatch_uid=f"sync.deleted.{name}")
    entities_changed_signal.connect(entities_changed, dispatch_uid="sync.entities_changed")
    post_save.connect(link_saved, sender=WorkspaceLink, dispatch_uid="sync.link_saved")
    post_delete.connect(link_deleted, sender=WorkspaceLink, dispatch_uid="sync.link_deleted")
    installation_installed.connect(site_installed, dispatch_uid="sync.site_installed")
