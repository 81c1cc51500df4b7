"""Carry a superseded site's workspace links over to the installation that replaced it.

When a Jira site installs the app again under a new clientKey, `connect.lifecycle` marks the old
row superseded and wipes its secret, but its workspace links stay where they are: which
workspaces the new installation should see is a decision for staff, made here in one admin
action. Links move through `Workspace.link_site` / `unlink_site`, so the sync records them like
any link made by hand (the new site is sent the workspace's history; the old one, uninstalled,
is never called again).
"""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib import admin, messages
from django.db import transaction
from django.db.models import QuerySet
from django.http import HttpRequest

from connect.models import Installation
from incidents.models import WorkspaceLink

#: Moving a link is unlinking one site and linking another.
REQUIRED_PERMISSIONS = ("incidents.add_workspacelink", "incidents.delete_workspacelink")


class CarryOverRefused(Exception):
    """The links cannot be carried over; the message says why and is safe to show."""


@dataclass(frozen=True)
class CarriedOver:
    old: Installation
    new: Installation
    workspaces: int


def current_successor(old: Installation) -> Installation | None:
    """The row that finally replaced `old` (following a chain of reinstalls), or None."""
    seen = {old.pk}
    row = old.superseded_by
    while row is not None and row.superseded_by_id is not None and row.pk not in seen:
        seen.add(row.pk)
        row = row.superseded_by
    return row


def carry_over_links(old: Installation, new: Installation, *, by=None) -> CarriedOver:
    """Move every workspace link of `old` to `new`, in one transaction.

    `old` must be superseded and `new` must be the active installation that replaced it, so a
    mistaken selection cannot hand one site's workspaces to another site.
    """
    if old.superseded_by_id is None:
        raise CarryOverRefused(f"{old} ({old.client_key}) has not been superseded")
    if current_successor(old) != new:
        raise CarryOverRefused(
            f"{new} ({new.client_key}) is not the installation that replaced {old.client_key}"
        )
    if not new.is_active:
        raise CarryOverRefused(f"{new} ({new.client_key}) is not installed and enabled")
    with transaction.atomic():
        links = list(
            WorkspaceLink.objects.select_for_update()
            .filter(installation=old)
            .select_related("workspace")
            .order_by("pk")
        )
        for link in links:
            link.workspace.link_site(new, by=by)
            link.workspace.unlink_site(old)
    return CarriedOver(old=old, new=new, workspaces=len(links))


@admin.action(description="Carry workspace links over to the installation that replaced it")
def carry_over_links_action(
    modeladmin: admin.ModelAdmin, request: HttpRequest, queryset: QuerySet[Installation]
) -> None:
    """Admin action on the Jira sites: for each selected superseded row, move its links."""
    if not all(request.user.has_perm(perm) for perm in REQUIRED_PERMISSIONS):
        modeladmin.message_user(
            request,
            "Carrying links over needs the rights to add and delete linked Jira sites.",
            messages.ERROR,
        )
        return
    for old in queryset.select_related("superseded_by").order_by("pk"):
        new = current_successor(old)
        try:
            if new is None:
                raise CarryOverRefused(f"{old} ({old.client_key}) has not been superseded")
            result = carry_over_links(old, new, by=request.user)
        except CarryOverRefused as exc:
            modeladmin.message_user(request, str(exc), messages.WARNING)
            continue
        modeladmin.message_user(
            request,
            f"{result.workspaces} workspace link(s) moved from {old.client_key} "
            f"to {new} ({new.client_key}).",
            messages.SUCCESS,
        )
