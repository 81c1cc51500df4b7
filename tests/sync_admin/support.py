"""Builders for outbox rows in a given state, and helpers to drive the admin's actions."""

from __future__ import annotations

from datetime import timedelta

from django.urls import reverse
from django.utils import timezone

from incidents.models.outbox import SiteSyncStatus, SyncState, refresh_sync_summary

INCIDENTS = reverse("admin:incidents_incident_changelist")
REVIEWS = reverse("admin:incidents_postincidentreview_changelist")
SITES = reverse("admin:connect_installation_changelist")


def set_state(entity, installation, kind: str = "incident", **fields) -> SyncState:
    """Put the entity's row on this site in a state, as the relay would have left it."""
    state, _ = SyncState.objects.get_or_create(
        installation=installation, kind=kind, external_id=entity.external_id
    )
    for name, value in fields.items():
        setattr(state, name, value)
    state.save()
    refresh_sync_summary(kind, [entity.external_id])  # as every outbox writer does
    return state


def synced(entity, installation, kind: str = "incident", **extra) -> SyncState:
    values = dict(
        pending=False,
        present_in_jira=True,
        synced_at=timezone.now() - timedelta(minutes=3),
        sent_sequence_number=entity.update_sequence_number,
        error="",
        last_attempt_error="",
        withheld=False,
    )
    values.update(extra)
    return set_state(entity, installation, kind, **values)


def failed(entity, installation, kind: str = "incident", message: str = "summary: too long"):
    return synced(entity, installation, kind, error=message)


def retrying(entity, installation, kind: str = "incident", error: str = "503 Service Unavailable"):
    return set_state(
        entity,
        installation,
        kind,
        pending=True,
        attempts=3,
        last_attempt_error=error,
        next_attempt_at=timezone.now() + timedelta(minutes=5),
    )


def pending(entity, installation, kind: str = "incident") -> SyncState:
    return set_state(entity, installation, kind, pending=True, last_attempt_error="", error="")


def site_status(installation, **fields) -> SiteSyncStatus:
    status, _ = SiteSyncStatus.objects.get_or_create(installation=installation)
    for name, value in fields.items():
        setattr(status, name, value)
    status.save()
    return status


def run_action(client, changelist: str, action: str, objects, **extra):
    """POST an admin action for these objects, as the changelist's action bar does."""
    data = {"action": action, "_selected_action": [str(o.pk) for o in objects], "index": "0"}
    data.update(extra)
    return client.post(changelist, data, follow=False)


def confirm_action(client, changelist: str, action: str, objects, **extra):
    """POST the confirmation of an action that asked for one (no `index`, `post=yes`)."""
    data = {"action": action, "_selected_action": [str(o.pk) for o in objects], "post": "yes"}
    data.update(extra)
    return client.post(changelist, data, follow=False)


def messages_of(response) -> list[str]:
    return [str(m) for m in response.wsgi_request._messages]
