"""The incident workflow ops staff, the API and alert webhooks share: declaring an incident (id,
URL, commander, timeline) and adding notes to its timeline.

Plain functions over the models, so the admin, the portal's pages and the API stay thin.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import F
from django.urls import reverse

from connect.descriptor import absolute_url
from incidents.models import Container, Incident, IncidentUpdate, Workspace

#: How many taken ids `allocate_incident_id` skips before giving up (ids typed by hand, or another
#: workspace with the same prefix).
MAX_ID_ATTEMPTS = 1000


def incident_page_url(external_id: str) -> str:
    """The portal's own page of an incident: where Jira's Incidents page links back to."""
    return absolute_url(reverse("incident-page", args=[external_id]))


def allocate_incident_id(workspace: Workspace) -> str:
    """The next free `<prefix>-<n>` of this workspace.

    The counter is bumped by an UPDATE, so concurrent declarations in one workspace wait on the
    row lock and get different numbers; ids already taken are skipped.
    """
    with transaction.atomic():
        for _ in range(MAX_ID_ATTEMPTS):
            Workspace.objects.filter(pk=workspace.pk).update(
                incident_counter=F("incident_counter") + 1
            )
            prefix, number = Workspace.objects.values_list(
                "incident_prefix", "incident_counter"
            ).get(pk=workspace.pk)
            candidate = f"{prefix}-{number}"
            if not Incident.objects.filter(external_id=candidate).exists():
                return candidate
    raise IntegrityError(f"No free incident id in workspace {workspace} after {MAX_ID_ATTEMPTS}.")


def declare_incident(
    workspace: Workspace,
    summary: str,
    *,
    by: Any = None,
    source: str = "",
    severity: str = Incident.Severity.UNKNOWN,
    status: str = Incident.Status.OPEN,
    description: str = "",
    containers: Iterable[Container] = (),
    url: str = "",
    external_id: str = "",
    commander: Any = None,
) -> Incident:
    """Open an incident: a generated id, raised now, its portal page as URL unless given, the
    declaring user as commander, and a "declared" entry first in its timeline."""
    with transaction.atomic():
        external_id = external_id or allocate_incident_id(workspace)
        incident = Incident(
            external_id=external_id,
            workspace=workspace,
            summary=summary,
            description=description,
            severity=severity,
            status=status,
            url=url or incident_page_url(external_id),
            commander=commander if commander is not None else _user_or_none(by),
        )
        incident.full_clean(exclude=["affected_containers"])
        incident.save()
        containers = list(containers)
        if containers:
            incident.affected_containers.add(*containers)
        IncidentUpdate.objects.create(
            incident=incident,
            kind=IncidentUpdate.Kind.DECLARED,
            author=_user_or_none(by),
            source=source,
            new_value=status,
            message=summary,
        )
    return incident


def add_note(
    incident: Incident, message: str, *, by: Any = None, source: str = ""
) -> IncidentUpdate:
    """A note in the incident's timeline (no change to what Jira holds)."""
    update = IncidentUpdate(
        incident=incident,
        kind=IncidentUpdate.Kind.NOTE,
        author=_user_or_none(by),
        source=source,
        message=message,
    )
    update.full_clean()
    update.save()
    return update


def _user_or_none(user: Any) -> Any:
    return user if getattr(user, "pk", None) is not None and user.is_authenticated else None


def last_workspace_of(user: Any) -> Workspace | None:
    """The workspace of the incident this user last declared or commanded, else the first one:
    what the declare form preselects."""
    if getattr(user, "pk", None) is not None:
        declared = (
            IncidentUpdate.objects.filter(author=user, kind=IncidentUpdate.Kind.DECLARED)
            .order_by("-created_at", "-pk")
            .values_list("incident__workspace_id", flat=True)
            .first()
        )
        if declared is None:
            declared = (
                Incident.objects.filter(commander=user)
                .order_by("-created_date", "-pk")
                .values_list("workspace_id", flat=True)
                .first()
            )
        if declared is not None:
            return Workspace.objects.filter(pk=declared).first()
    return Workspace.objects.order_by("name", "pk").first()


def change_incident(incident: Incident, *, by: Any = None, source: str = "", **fields: Any) -> bool:
    """Change status, severity or commander through `save()`, so the timeline records who
    changed what; False (and no write) when nothing changes."""
    allowed = {"status", "severity", "commander"}
    unknown = set(fields) - allowed
    if unknown:
        raise ValueError(f"change_incident() changes only {sorted(allowed)}, not {sorted(unknown)}")
    changed = [name for name, value in fields.items() if getattr(incident, name) != value]
    if not changed:
        return False
    for name in changed:
        setattr(incident, name, fields[name])
    incident.full_clean(exclude=["affected_containers"])
    incident.changed_by = by
    incident.change_source = source
    incident.save()
    return True


def review_defaults(incident: Incident) -> dict[str, Any]:
    """What a new post-incident review of this incident starts with: a free id derived from the
    incident's, its summary, its workspace, and the incident's portal page as URL (the page
    shows the review and its action items)."""
    from incidents.models import PostIncidentReview
    from incidents.validators import SUMMARY_MAX_LENGTH

    base = f"PIR-{incident.external_id}"
    external_id, n = base, 1
    while PostIncidentReview.objects.filter(external_id=external_id).exists():
        n += 1
        external_id = f"{base}-{n}"
    return {
        "external_id": external_id,
        "summary": f"Review: {incident.summary}"[:SUMMARY_MAX_LENGTH],
        "workspace": incident.workspace_id,
        "incidents": [incident.pk],
        "url": incident_page_url(incident.external_id),
    }
