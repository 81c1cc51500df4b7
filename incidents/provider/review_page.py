"""The page Jira's legacy createPostIncidentReview action links to
(https://developer.atlassian.com/cloud/jira/software/rest/api-group-operations/):
`/reviews/create?incident-id=…&component-id=…` gives an ops engineer a review form prefilled
from that incident (and component); saving creates the review and opens it in the admin.
"""

from __future__ import annotations

from typing import cast

from django import forms
from django.contrib import admin
from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse, reverse_lazy

from incidents.admin.forms import ReviewAdminForm
from incidents.models import Container, Incident, PostIncidentReview
from incidents.validators import ENTITY_ID_MAX_LENGTH, SUMMARY_MAX_LENGTH

#: The query parameters of the action's URL template, as Jira fills them in.
INCIDENT_PARAM = "incident-id"
COMPONENT_PARAM = "component-id"
#: How many numbered variants of the suggested review id are tried before giving up.
ID_SUGGESTION_ATTEMPTS = 100


def suggested_review_id(incident: Incident) -> str:
    """`pir-<incident id>`, or `pir-<incident id>-2`, … if taken; blank if all are taken."""
    base = f"pir-{incident.external_id}"
    candidates = [base] + [f"{base}-{n}" for n in range(2, ID_SUGGESTION_ATTEMPTS + 1)]
    candidates = [c for c in candidates if len(c) <= ENTITY_ID_MAX_LENGTH]
    taken = set(
        PostIncidentReview.objects.filter(external_id__in=candidates).values_list(
            "external_id", flat=True
        )
    )
    return next((c for c in candidates if c not in taken), "")


def review_initial(incident: Incident, component: Container | None) -> dict:
    """What the form starts with: the incident's workspace, a summary and the incident."""
    summary = f"Review of {incident.summary}"
    if len(summary) > SUMMARY_MAX_LENGTH:
        summary = summary[: SUMMARY_MAX_LENGTH - 1] + "…"
    initial = {
        "external_id": suggested_review_id(incident),
        "workspace": incident.workspace_id,
        "summary": summary,
        "incidents": [incident.pk],
    }
    if component is not None:
        initial["description"] = f"Affected component: {component.name} ({component.external_id})"
    return initial


class CreateReviewForm(ReviewAdminForm):
    """The admin's review form, with the workspace fixed to the incident's."""

    def __init__(self, *args, incident: Incident, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["workspace"].disabled = True
        incidents = cast(forms.ModelMultipleChoiceField, self.fields["incidents"])
        incidents.queryset = Incident.objects.filter(workspace_id=incident.workspace_id).only(
            "pk", "external_id", "summary"
        )


def save_review(form: CreateReviewForm) -> PostIncidentReview | None:
    """Save through the model's rules, `full_clean_relations()` included; None (and the errors
    on the form) if they refuse it, with nothing written."""
    try:
        with transaction.atomic():
            review = form.save()
            review.full_clean_relations()
    except ValidationError as exc:
        form.add_error(None, exc)
        return None
    return review


@login_required(login_url=reverse_lazy("admin:login"))
@permission_required("incidents.add_postincidentreview", raise_exception=True)
def create_review(request: HttpRequest) -> HttpResponse:
    incident = get_object_or_404(
        Incident.objects.select_related("workspace"),
        external_id=request.GET.get(INCIDENT_PARAM, ""),
    )
    component = Container.objects.filter(
        workspace_id=incident.workspace_id, external_id=request.GET.get(COMPONENT_PARAM, "")
    ).first()
    if request.method == "POST":
        form = CreateReviewForm(
            request.POST, incident=incident, initial=review_initial(incident, component)
        )
        if form.is_valid() and (review := save_review(form)) is not None:
            return redirect(reverse("admin:incidents_postincidentreview_change", args=[review.pk]))
    else:
        form = CreateReviewForm(incident=incident, initial=review_initial(incident, component))
    context = {
        **admin.site.each_context(request),
        "title": "Create a post-incident review",
        "form": form,
        "incident": incident,
        "component": component,
    }
    return render(request, "incidents/create_review.html", context)
