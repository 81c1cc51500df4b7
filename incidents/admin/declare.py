"""The "Declare incident" screen: one short form, reachable from the admin index and the incident
list. What declaring does is `incidents.workflow.declare_incident`; this only feeds it."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse

from incidents import workflow
from incidents.admin.forms import DeclareIncidentForm


def declare_view(model_admin):
    """The view, bound to the incident admin (its site, permissions and media)."""

    def declare(request: HttpRequest) -> HttpResponse:
        if not model_admin.has_add_permission(request):
            raise PermissionDenied
        last = workflow.last_workspace_of(request.user)
        initial = {"workspace": last.pk if last else None}
        form = DeclareIncidentForm(
            request.POST or None, initial=initial, admin_site=model_admin.admin_site
        )
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            try:
                incident = workflow.declare_incident(
                    data["workspace"],
                    data["summary"],
                    by=request.user,
                    severity=data["severity"],
                    containers=data["containers"],
                )
            except ValidationError as exc:
                form.add_error(None, exc)
            else:
                messages.success(
                    request,
                    f"Declared {incident.external_id}; you are its commander. "
                    "Jira hears of it within seconds.",
                )
                return HttpResponseRedirect(reverse("incident-page", args=[incident.external_id]))
        opts = model_admin.model._meta
        context = {
            **model_admin.admin_site.each_context(request),
            "title": "Declare incident",
            "subtitle": None,
            "opts": opts,
            "form": form,
            "media": model_admin.media + form.media,
            "has_view_permission": model_admin.has_view_permission(request),
        }
        request.current_app = model_admin.admin_site.name
        refused = request.method == "POST"  # a valid POST has redirected by now
        return TemplateResponse(
            request,
            "admin/incidents/incident/declare.html",
            context,
            status=400 if refused else 200,
        )

    return declare
