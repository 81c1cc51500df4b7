"""What an alert notification does, whichever tool sent it, and the record of each delivery.

One open incident per integration and group: the first firing notification opens it, later
ones update it, a resolved notification resolves it, and a group that fires again afterwards
opens a new one. The `AlertGroup` row is claimed by an INSERT under a conditional unique
constraint, so concurrent first notifications of one group collide in the database: the losers
wait for the winner's commit, then lock its row and update its incident (no duplicate incident,
no lost update), on PostgreSQL and SQLite alike.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from django.db import IntegrityError, transaction
from django.utils import timezone

from incidents.api.containers import containers_for_labels
from incidents.models import AlertGroup, Delivery, Incident, Integration
from incidents.models.integrations import group_key_hash
from incidents.validators import (
    AFFECTED_COMPONENTS_MAX,
    DESCRIPTION_MAX_LENGTH,
    SUMMARY_MAX_LENGTH,
)
from incidents.workflow import add_note, declare_incident

#: Jira's levels from most to least severe; a notification's severity is its most severe alert's.
SEVERITY_RANK = {"P1": 0, "P2": 1, "P3": 2, "P4": 3, "P5": 4, "unknown": 5}
#: Claim attempts before giving up: each failed claim means another delivery opened the group.
CLAIM_ATTEMPTS = 5


def highest_severity(levels: list[str]) -> str:
    """The most severe of Jira's levels; `unknown` for none."""
    return min(levels, key=lambda level: SEVERITY_RANK.get(level, 5), default="unknown")


def clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


@dataclass(frozen=True)
class AlertNotification:
    """One notification, whichever tool sent it, in the portal's terms."""

    group_key: str
    firing: bool
    summary: str
    #: Jira's level; empty when the notification gave none (an update then keeps the old one).
    severity: str = ""
    container_names: tuple[str, ...] = ()
    description: str = ""
    url: str = ""
    resolved_note: str = ""


@dataclass
class Effect:
    outcome: str
    incidents: list[Incident] = field(default_factory=list)


def deliver(
    integration: Integration,
    notification: AlertNotification,
    *,
    endpoint: str,
    received_at: datetime | None = None,
) -> Delivery:
    """Apply a notification and record its delivery, in one transaction."""
    with transaction.atomic():
        if notification.firing:
            effect = _fire(integration, notification)
        else:
            effect = _resolve(integration, notification)
        delivery = Delivery.objects.create(
            integration=integration,
            endpoint=endpoint,
            received_at=received_at or timezone.now(),
            outcome=effect.outcome,
            status_code=202,
            group_key=notification.group_key,
        )
        if effect.incidents:
            delivery.incidents.add(*effect.incidents)
    delivery.touched = effect.incidents
    return delivery


def record_refusal(
    integration: Integration,
    *,
    endpoint: str,
    status_code: int,
    error: str,
    received_at: datetime | None = None,
) -> Delivery:
    """A refused delivery: nothing changed, so only this record is written."""
    return Delivery.objects.create(
        integration=integration,
        endpoint=endpoint,
        received_at=received_at or timezone.now(),
        outcome=Delivery.Outcome.REFUSED,
        status_code=status_code,
        error=error,
    )


def open_group(integration: Integration, key: str) -> tuple[AlertGroup, bool]:
    """The group's open row, locked, and False; or a new row claimed for this transaction and
    True. An open row whose incident was resolved elsewhere (staff, the REST API) is closed
    first: the group then opens a new incident. Must run inside a transaction."""
    key_hash = group_key_hash(key)
    for _ in range(CLAIM_ATTEMPTS):
        group = (
            AlertGroup.objects.select_for_update(of=("self",))
            .select_related("incident")
            .filter(integration=integration, key_hash=key_hash, is_open=True)
            .first()
        )
        if group is not None:
            if group.incident is not None and group.incident.status != Incident.Status.RESOLVED:
                return group, False
            close_group(group)
        try:
            with transaction.atomic():
                return (
                    AlertGroup.objects.create(integration=integration, key=key, key_hash=key_hash),
                    True,
                )
        except IntegrityError:
            continue  # another delivery claimed it and has committed: lock its row
    raise IntegrityError(f"Could not claim alert group {key!r} after {CLAIM_ATTEMPTS} attempts.")


def close_group(group: AlertGroup) -> None:
    group.is_open = False
    group.closed_at = timezone.now()
    group.save(update_fields=["is_open", "closed_at"])


def _fire(integration: Integration, notification: AlertNotification) -> Effect:
    group, claimed = open_group(integration, notification.group_key)
    workspace = integration.workspace
    containers = containers_for_labels(workspace, notification.container_names)
    if claimed:
        incident = declare_incident(
            workspace,
            clip(notification.summary, SUMMARY_MAX_LENGTH),
            source=integration.source,
            severity=notification.severity or Incident.Severity.UNKNOWN,
            description=clip(notification.description, DESCRIPTION_MAX_LENGTH),
            url=notification.url,
        )
        attach_containers(incident, containers)  # recorded by the declaration's own record
        group.incident = incident
        group.save(update_fields=["incident"])
        return Effect(Delivery.Outcome.CREATED, [incident])

    current = group.incident
    assert current is not None  # an open group has its incident
    incident = current
    changed = []
    for name, value in (
        ("summary", clip(notification.summary, SUMMARY_MAX_LENGTH)),
        ("severity", notification.severity),
        ("description", clip(notification.description, DESCRIPTION_MAX_LENGTH)),
    ):
        if value and getattr(incident, name) != value:
            setattr(incident, name, value)
            changed.append(name)
    added = False
    if containers:
        have = set(incident.affected_containers.values_list("pk", flat=True))
        room = AFFECTED_COMPONENTS_MAX - len(have)
        added = attach_containers(
            incident, [c for c in containers if c.pk not in have][: max(room, 0)]
        )
    if changed:
        incident.change_source = integration.source
        incident.save(update_fields=changed)  # records the new containers too
    elif added:
        incident.bump_sequence()
        changed.append("containers")
    outcome = Delivery.Outcome.UPDATED if changed else Delivery.Outcome.UNCHANGED
    return Effect(outcome, [incident])


def attach_containers(incident: Incident, containers: list) -> bool:
    """Add containers to an incident without the many-to-many signal's own sequence bump: the
    caller records the incident once, in the same transaction (a save or `bump_sequence()`),
    instead of twice. True if any was added."""
    if not containers:
        return False
    through = Incident.affected_containers.through
    through.objects.bulk_create(
        [through(incident_id=incident.pk, container_id=c.pk) for c in containers],
        ignore_conflicts=True,
    )
    return True


def _resolve(integration: Integration, notification: AlertNotification) -> Effect:
    group = (
        AlertGroup.objects.select_for_update(of=("self",))
        .select_related("incident")
        .filter(
            integration=integration,
            key_hash=group_key_hash(notification.group_key),
            is_open=True,
        )
        .first()
    )
    if group is None or group.incident is None:
        return Effect(Delivery.Outcome.IGNORED)
    incident = group.incident
    close_group(group)
    if incident.status == Incident.Status.RESOLVED:
        return Effect(Delivery.Outcome.IGNORED, [incident])
    incident.status = Incident.Status.RESOLVED
    incident.change_source = integration.source
    incident.save(update_fields=["status"])
    add_note(
        incident,
        clip(notification.resolved_note or "The alert group resolved.", DESCRIPTION_MAX_LENGTH),
        source=integration.source,
    )
    return Effect(Delivery.Outcome.RESOLVED, [incident])
