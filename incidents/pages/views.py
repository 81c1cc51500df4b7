"""The portal's own pages for ops staff (login required): an incident's page, where Jira's
Incidents page links back to."""

from __future__ import annotations

from django.contrib.admin.views.decorators import staff_member_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render

from incidents.models import Incident


@staff_member_required
def incident_page(request: HttpRequest, external_id: str) -> HttpResponse:
    incident = get_object_or_404(
        Incident.objects.select_related("workspace", "commander").prefetch_related(
            "affected_containers", "responders", "updates__author", "associations", "reviews"
        ),
        external_id=external_id,
    )
    return render(request, "incidents/pages/incident.html", {"incident": incident})
