"""What the REST API does to incidents, as plain functions the views call."""

from __future__ import annotations

from typing import Any

from django.db import transaction

from incidents.api.alerts import open_group
from incidents.models import Container, Incident, IncidentUpdate, Integration
from incidents.workflow import add_note, declare_incident


def open_incident(integration: Integration, data: dict[str, Any]) -> tuple[Incident, bool]:
    """Declare an incident in the integration's workspace; with a `dedup_key` whose incident is
    still open, that incident instead (and False)."""
    with transaction.atomic():
        group = None
        dedup_key = data.get("dedup_key")
        if dedup_key:
            group, claimed = open_group(integration, dedup_key)
            if not claimed:
                return group.incident, False  # type: ignore[return-value]
        incident = declare_incident(
            integration.workspace,
            data["summary"],
            source=integration.source,
            severity=data.get("severity", Incident.Severity.UNKNOWN),
            status=data.get("status", Incident.Status.OPEN),
            description=data.get("description", ""),
            containers=data.get("containers", []),
        )
        if group is not None:
            group.incident = incident
            group.save(update_fields=["incident"])
    return incident, True


def change_incident(integration: Integration, incident: Incident, data: dict[str, Any]) -> Incident:
    """Apply a PATCH: the fields given, and the containers (replacing them) if given."""
    with transaction.atomic():
        incident = Incident.objects.select_for_update().get(pk=incident.pk)
        fields = [name for name in ("summary", "description", "severity", "status") if name in data]
        for name in fields:
            setattr(incident, name, data[name])
        if fields:
            incident.change_source = integration.source
            incident.full_clean(exclude=["affected_containers"])
            incident.save(update_fields=fields)
        containers: list[Container] | None = data.get("containers")
        if containers is not None:
            incident.affected_containers.set(containers)
    return incident


def add_update(
    integration: Integration, incident: Incident, message: str, status: str | None = None
) -> IncidentUpdate:
    """A note in the timeline; with a status, the incident changes to it first (the change is
    its own timeline entry)."""
    with transaction.atomic():
        if status is not None:
            incident = Incident.objects.select_for_update().get(pk=incident.pk)
            if incident.status != status:
                incident.status = status
                incident.change_source = integration.source
                incident.save(update_fields=["status"])
        return add_note(incident, message, source=integration.source)
