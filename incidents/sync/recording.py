"""Record in the outbox, inside the caller's transaction, every change a Jira site must hear of.

`record_changes(kind, entities)` is the one way an entity's change is recorded. The models call
it explicitly in the same transaction as their write (docs/sync.md lists every entry point):

- `Incident` / `PostIncidentReview` `save()` and `delete()`, their querysets' `update()`,
  `delete()` and `bulk_create()` (`incidents.models.sequence`);
- a change to an entity's associations or containers, which bumps the entity's sequence
  through a queryset `update()`;
- `WorkspaceLink` `save()` / `delete()` call `record_workspace_linked` / `..._unlinked`, which
  record the workspace and every entity of it.

Two changes come through signals because Django offers no other hook, and both are sent inside
Django's own transaction for the write: many-to-many `add()`/`remove()`/`clear()`/`set()`
(`m2m_changed`) and a Jira site installing again (`connect.signals.installation_installed`).
Nothing is sent from here; the relay (`incidents.sync.relay`) does that.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from django.apps import apps
from django.conf import settings
from django.utils import timezone

from incidents.models.outbox import SiteSyncStatus, SyncState, mark_changed, new_token

if TYPE_CHECKING:
    from connect.models import Installation
    from incidents.models import WorkspaceLink

Kind = SyncState.Kind
#: An entity as the outbox names it: (external id, workspace pk).
Identity = tuple[str, int | None]


def _sites_of_workspaces(workspace_ids: Iterable[int]) -> dict[int, list[int]]:
    link_model = apps.get_model("incidents", "WorkspaceLink")
    sites: dict[int, list[int]] = defaultdict(list)
    for workspace_id, installation_id in link_model.objects.filter(
        workspace_id__in=set(workspace_ids)
    ).values_list("workspace_id", "installation_id"):
        sites[workspace_id].append(installation_id)
    return sites


def sites_to_tell(kind: str, entities: Iterable[Identity]) -> dict[str, set[int]]:
    """For (external id, workspace pk) pairs: every site that should hold each entity now, and
    every site that was sent it before (so a move or an unlink becomes a delete)."""
    entities = list(entities)
    sites = _sites_of_workspaces(ws for _, ws in entities if ws is not None)
    targets: dict[str, set[int]] = defaultdict(set)
    for external_id, workspace_id in entities:
        targets[external_id].update(sites.get(workspace_id, ()) if workspace_id else ())
    for external_id, installation_id in SyncState.objects.filter(
        kind=kind, external_id__in=list(targets)
    ).values_list("external_id", "installation_id"):
        targets[external_id].add(installation_id)
    return {k: v for k, v in targets.items() if v}


def record_changes(kind: str, entities: Iterable[Identity]) -> int:
    """Record that these entities (of one kind) changed, for every site `sites_to_tell` names.

    Call it inside the transaction of the write it records: if it fails, the write rolls back.
    """
    entities = list(entities)
    if not entities:
        return 0
    return mark_changed(kind, sites_to_tell(kind, entities))


def _entity_ids_of_workspace(workspace_id: int) -> dict[str, list[str]]:
    ids: dict[str, list[str]] = {}
    for kind, label in ((Kind.INCIDENT, "Incident"), (Kind.REVIEW, "PostIncidentReview")):
        model = apps.get_model("incidents", label)
        ids[kind] = list(
            model._default_manager.filter(workspace_id=workspace_id).values_list(
                "external_id", flat=True
            )
        )
    return ids


def record_workspace_linked(link: WorkspaceLink) -> None:
    """A new link: link the workspace on that site, then send the workspace's whole history."""
    site = link.installation_id
    mark_changed(Kind.WORKSPACE, {link.workspace.external_id: [site]})
    for kind, ids in _entity_ids_of_workspace(link.workspace_id).items():
        mark_changed(kind, {external_id: [site] for external_id in ids})


def record_workspace_unlinked(link: WorkspaceLink) -> None:
    """An unlink: the workspace's data goes from that site by one delete-by-property, so its
    entities' rows become tombstones, checked once later like any delete (a send in flight
    sees the new token and leaves them alone). They keep `present_in_jira`: until that delete
    is sent (and a relink may cancel it), Jira may still hold them."""
    site = link.installation_id
    mark_changed(Kind.WORKSPACE, {link.workspace.external_id: [site]}, present_in_jira=True)
    verify_at = timezone.now() + timedelta(seconds=settings.SYNC_VERIFY_DELETE_SECONDS)
    for kind, ids in _entity_ids_of_workspace(link.workspace_id).items():
        SyncState.objects.filter(installation_id=site, kind=kind, external_id__in=ids).update(
            pending=False,
            change_token=new_token(),
            verify_at=verify_at,
            error="",
            withheld=False,
        )


def record_reinstall(installation: Installation) -> None:
    """Jira deleted the site's data on uninstall: link its workspaces again and resend all."""
    link_model = apps.get_model("incidents", "WorkspaceLink")
    SyncState.objects.filter(installation=installation).update(present_in_jira=False)
    for link in link_model.objects.filter(installation=installation).select_related("workspace"):
        record_workspace_linked(link)


# --- The two signal receivers, connected in IncidentsConfig.ready() ----------------------------


def related_set_changed(
    sender: Any, instance: Any, action: str, reverse: bool, model: Any, pk_set: Any, **kwargs: Any
) -> None:
    """An incident's containers or a review's incidents changed, from either side: bump the
    owning entities, which records them (`SequencedQuerySet.update`)."""
    owner_model = sender._meta.auto_created
    field = next(f.name for f in owner_model._meta.many_to_many if f.remote_field.through is sender)
    changed = action in ("post_add", "post_remove") and bool(pk_set)
    if not reverse:
        if changed or action == "post_clear":
            instance.bump_sequence()
    elif action == "pre_clear":
        owner_model.objects.filter(**{field: instance}).bump_sequence()
    elif changed:
        owner_model.objects.filter(pk__in=pk_set).bump_sequence()


def site_installed(
    sender: Any, installation: Installation, reinstall: bool = False, **kwargs: Any
) -> None:
    """A known site installing again may have lost its data (Connect on Forge does not always
    send `uninstalled`), so every install of a known site resends what it should hold; and a
    fresh secret ends any wait for staff after Jira refused the old one."""
    SiteSyncStatus.objects.filter(installation=installation).update(
        needs_attention=False, paused_until=None
    )
    if reinstall:
        record_reinstall(installation)


def connect_receivers() -> None:
    from django.db.models.signals import m2m_changed

    from connect.signals import installation_installed

    for label, field in (("Incident", "affected_containers"), ("PostIncidentReview", "incidents")):
        through = apps.get_model("incidents", label)._meta.get_field(field).remote_field.through
        m2m_changed.connect(
            related_set_changed, sender=through, dispatch_uid=f"sync.related.{label}"
        )
    installation_installed.connect(site_installed, dispatch_uid="sync.site_installed")
