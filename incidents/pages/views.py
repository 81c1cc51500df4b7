"""The portal's own pages for ops staff (staff login required; others are sent to the login):
the home page, and an incident's page, where Jira's Incidents page links back to, with its quick
actions. Thin: what the actions do is in `incidents.workflow`."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.contrib.admin.views.decorators import staff_member_required
from django.core.exceptions import ValidationError
from django.db.models import Case, Count, IntegerField, Prefetch, Q, Value, When
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from incidents import metrics, workflow
from incidents.models import (
    AssociationType,
    Incident,
    IncidentUpdate,
    PostIncidentReview,
    ReviewActionItem,
)
from incidents.models.outbox import SyncState
from incidents.sync import overview, report

OPEN_INCIDENTS_SHOWN = 100
RECENT_REVIEWS_SHOWN = 10


def _severity_rank() -> Case:
    return Case(
        *(
            When(severity=value, then=Value(rank))
            for rank, value in enumerate(metrics.SEVERITY_ORDER)
        ),
        default=Value(len(metrics.SEVERITY_ORDER)),
        output_field=IntegerField(),
    )


@staff_member_required
def home(request: HttpRequest) -> HttpResponse:
    """Open incidents by severity, Jira sync health per site, recent reviews, time to resolve."""
    open_incidents = (
        Incident.objects.filter(status=Incident.Status.OPEN)
        .select_related("commander", "workspace")
        .prefetch_related(None)
        .annotate(severity_rank=_severity_rank())
        .order_by("severity_rank", "created_date", "pk")[:OPEN_INCIDENTS_SHOWN]
    )
    counts = metrics.open_incident_counts()
    by_severity = [
        (value, label, counts.get(value, 0))
        for value, label in Incident.Severity.choices
        if counts.get(value)
    ]
    health = overview.sites_health()
    reviews = (
        PostIncidentReview.objects.annotate(
            actions_total=Count("action_items"),
            actions_open=Count("action_items", filter=Q(action_items__done=False)),
        )
        .select_related("workspace")
        .order_by("-created_date", "-pk")[:RECENT_REVIEWS_SHOWN]
    )
    mttr = metrics.mean_time_to_resolve()
    return render(
        request,
        "incidents/pages/home.html",
        {
            **admin.site.each_context(request),
            "title": "Incidents",
            "open_incidents": open_incidents,
            "open_total": sum(counts.values()),
            "by_severity": by_severity,
            "sites_health": health,
            "reviews": reviews,
            "mttr": mttr,
            "mttr_text": metrics.humane_duration(mttr.mean),
            "can_declare": request.user.has_perm("incidents.add_incident"),
        },
    )


def _incident(external_id: str) -> Incident:
    return get_object_or_404(
        Incident.objects.select_related("workspace", "commander").prefetch_related(
            "affected_containers",
            "responders",
            Prefetch("updates", queryset=IncidentUpdate.objects.select_related("author")),
            "associations",
            Prefetch(
                "reviews",
                queryset=PostIncidentReview.objects.prefetch_related(
                    Prefetch(
                        "action_items",
                        queryset=ReviewActionItem.objects.select_related("owner"),
                    )
                ),
            ),
        ),
        external_id=external_id,
    )


def _render_incident(
    request: HttpRequest, incident: Incident, *, error: str = "", status: int = 200
) -> HttpResponse:
    sites = report.entity_site_states(SyncState.Kind.INCIDENT, incident)
    associations = list(incident.associations.all())
    return render(
        request,
        "incidents/pages/incident.html",
        {
            **admin.site.each_context(request),
            "title": f"{incident.external_id}: {incident.summary}",
            "incident": incident,
            "sites": sites,
            "sync_sentence": overview.entity_sentence(sites),
            "issues": [
                a.value for a in associations if a.association_type == AssociationType.ISSUE
            ],
            "services": [
                a.value for a in associations if a.association_type == AssociationType.SERVICE
            ],
            "time_to_resolve": metrics.humane_duration(incident.time_to_resolve),
            "severities": Incident.Severity.choices,
            "can_change": request.user.has_perm("incidents.change_incident"),
            "can_review": request.user.has_perm("incidents.add_postincidentreview"),
            "error": error,
            "note": request.POST.get("message", "") if error else "",
        },
        status=status,
    )


@staff_member_required
def incident_page(request: HttpRequest, external_id: str) -> HttpResponse:
    return _render_incident(request, _incident(external_id))


def _refuse(request: HttpRequest, incident: Incident, message: str, status: int = 400):
    return _render_incident(request, incident, error=message, status=status)


@staff_member_required
@require_POST
def add_note(request: HttpRequest, external_id: str) -> HttpResponse:
    incident = _incident(external_id)
    if not request.user.has_perm("incidents.change_incident"):
        return _refuse(request, incident, "You may not change incidents.", status=403)
    message = request.POST.get("message", "").strip()
    if not message:
        return _refuse(request, incident, "The note is empty: write what happened.")
    try:
        workflow.add_note(incident, message.replace("\r\n", "\n"), by=request.user)
    except ValidationError as exc:
        return _refuse(request, incident, " ".join(exc.messages))
    messages.success(request, "Note added to the timeline.")
    return HttpResponseRedirect(reverse("incident-page", args=[incident.external_id]) + "#timeline")


@staff_member_required
@require_POST
def quick_action(request: HttpRequest, external_id: str) -> HttpResponse:
    """Resolve, reopen, change the severity or take command, through `save()` so the timeline
    records who did it."""
    incident = _incident(external_id)
    if not request.user.has_perm("incidents.change_incident"):
        return _refuse(request, incident, "You may not change incidents.", status=403)
    action = request.POST.get("action", "")
    fields: dict[str, Any]
    if action == "resolve":
        fields = {"status": Incident.Status.RESOLVED}
    elif action == "reopen":
        fields = {"status": Incident.Status.OPEN}
    elif action == "command":
        fields = {"commander": request.user}
    elif action == "severity":
        severity = request.POST.get("severity", "")
        if severity not in Incident.Severity.values:
            return _refuse(
                request,
                incident,
                f"Unknown severity {severity!r}: choose one of "
                + ", ".join(Incident.Severity.values)
                + ".",
            )
        fields = {"severity": severity}
    else:
        return _refuse(
            request,
            incident,
            f"Unknown action {action!r}: resolve, reopen, severity or command.",
        )
    changed = workflow.change_incident(incident, by=request.user, **fields)
    if changed:
        words = {
            "resolve": "Resolved.",
            "reopen": "Reopened.",
            "severity": f"Severity is now {incident.get_severity_display()}.",
            "command": "You are now the commander.",
        }
        messages.success(request, words[action] + " Jira hears of it within seconds.")
    else:
        messages.info(request, "Nothing changed.")
    return HttpResponseRedirect(reverse("incident-page", args=[incident.external_id]))
