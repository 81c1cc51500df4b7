"""The REST API under /api/v1/incidents/ (docs/api.md): thin views over `operations`.

A token reaches only its own workspace: every lookup is filtered by it, so another workspace's
incident is a 404.
"""

from __future__ import annotations

from datetime import UTC

from django.db.models import Prefetch, QuerySet
from django.shortcuts import get_object_or_404
from django.utils.dateparse import parse_datetime
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status as http
from rest_framework.exceptions import ValidationError
from rest_framework.pagination import PageNumberPagination
from rest_framework.response import Response

from incidents.api import idempotency, operations
from incidents.api.base import IntegrationAPIView
from incidents.api.serializers import (
    ErrorSerializer,
    IncidentCreateSerializer,
    IncidentPageSerializer,
    IncidentPatchSerializer,
    IncidentSerializer,
    NoteSerializer,
    TimelineEntrySerializer,
    TimelinePageSerializer,
)
from incidents.models import Container, Incident

LIST_FILTERS = ("open", "resolved")

IDEMPOTENCY_PARAMETER = OpenApiParameter(
    idempotency.HEADER,
    str,
    OpenApiParameter.HEADER,
    description="A retried POST with the same key and body returns the first answer and "
    "changes nothing again; the same key with another body is a 422.",
)


INCIDENT_ID = OpenApiParameter(
    "incident_id",
    str,
    OpenApiParameter.PATH,
    description="The incident's id as Jira sees it.",
    examples=[OpenApiExample("INC-1", value="INC-1")],
)


def errors(*codes: int) -> dict[int, OpenApiResponse]:
    return {code: OpenApiResponse(ErrorSerializer) for code in codes}


class Pages(PageNumberPagination):
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200


def incidents_of(integration) -> QuerySet[Incident]:
    return Incident.objects.filter(workspace_id=integration.workspace_id).prefetch_related(
        Prefetch("affected_containers", queryset=Container.objects.only("id", "external_id"))
    )


class IncidentListView(IntegrationAPIView):
    @extend_schema(
        operation_id="listIncidents",
        parameters=[
            OpenApiParameter("status", str, enum=list(LIST_FILTERS)),
            OpenApiParameter(
                "updated_since", str, description="ISO 8601; incidents changed at or after it."
            ),
            OpenApiParameter("page", int),
            OpenApiParameter("page_size", int, description="At most 200; 50 by default."),
        ],
        responses={200: IncidentPageSerializer, **errors(400, 401, 404)},
    )
    def get(self, request):
        """The workspace's incidents, most recently changed first."""
        incidents = incidents_of(self.integration).order_by("-last_updated", "-pk")
        status = request.query_params.get("status")
        if status is not None:
            if status not in LIST_FILTERS:
                raise ValidationError({"status": [f"Use one of {', '.join(LIST_FILTERS)}."]})
            incidents = incidents.filter(status=status)
        since = request.query_params.get("updated_since")
        if since is not None:
            incidents = incidents.filter(last_updated__gte=_instant(since, "updated_since"))
        pages = Pages()
        page = pages.paginate_queryset(incidents, request, view=self)
        return pages.get_paginated_response(IncidentSerializer(page, many=True).data)

    @extend_schema(
        operation_id="createIncident",
        request=IncidentCreateSerializer,
        parameters=[IDEMPOTENCY_PARAMETER],
        responses={
            201: IncidentSerializer,
            200: OpenApiResponse(IncidentSerializer, "The open incident of this dedup_key."),
            **errors(400, 401, 413, 415, 422),
        },
    )
    def post(self, request):
        """Declare an incident in the token's workspace."""
        key = request.headers.get(idempotency.HEADER)
        if key is None:
            status, body = self._create(request)
            return Response(body, status=status)
        fingerprint = idempotency.request_fingerprint("POST", request.path, request.data)
        status, body, replayed = idempotency.run_once(
            self.integration, key, fingerprint, lambda: self._create(request)
        )
        headers = {"Idempotent-Replayed": "true"} if replayed else {}
        return Response(body, status=status, headers=headers)

    def _create(self, request) -> tuple[int, dict]:
        serializer = IncidentCreateSerializer(
            data=request.data, context={"integration": self.integration}
        )
        serializer.is_valid(raise_exception=True)
        incident, created = operations.open_incident(self.integration, serializer.validated_data)
        incident = incidents_of(self.integration).get(pk=incident.pk)
        return (http.HTTP_201_CREATED if created else http.HTTP_200_OK), dict(
            IncidentSerializer(incident).data
        )


class IncidentDetailView(IntegrationAPIView):
    def get_incident(self, incident_id: str) -> Incident:
        return get_object_or_404(incidents_of(self.integration), external_id=incident_id)

    @extend_schema(
        operation_id="getIncident",
        parameters=[INCIDENT_ID],
        responses={200: IncidentSerializer, **errors(401, 404)},
    )
    def get(self, request, incident_id: str):
        """One incident of the token's workspace."""
        return Response(IncidentSerializer(self.get_incident(incident_id)).data)

    @extend_schema(
        operation_id="updateIncident",
        parameters=[INCIDENT_ID],
        request=IncidentPatchSerializer,
        responses={200: IncidentSerializer, **errors(400, 401, 404, 413, 415)},
    )
    def patch(self, request, incident_id: str):
        """Change the fields given; `containers` replaces the affected containers."""
        incident = self.get_incident(incident_id)
        serializer = IncidentPatchSerializer(
            data=request.data, context={"integration": self.integration}
        )
        serializer.is_valid(raise_exception=True)
        operations.change_incident(self.integration, incident, serializer.validated_data)
        return Response(IncidentSerializer(self.get_incident(incident_id)).data)


class IncidentUpdatesView(IntegrationAPIView):
    @extend_schema(
        operation_id="listIncidentUpdates",
        parameters=[INCIDENT_ID],
        responses={200: TimelinePageSerializer, **errors(401, 404)},
    )
    def get(self, request, incident_id: str):
        """The incident's timeline, oldest first."""
        incident = get_object_or_404(incidents_of(self.integration), external_id=incident_id)
        entries = incident.updates.select_related("author").order_by("created_at", "pk")
        pages = Pages()
        page = pages.paginate_queryset(entries, request, view=self)
        return pages.get_paginated_response(TimelineEntrySerializer(page, many=True).data)

    @extend_schema(
        operation_id="addIncidentUpdate",
        request=NoteSerializer,
        parameters=[INCIDENT_ID, IDEMPOTENCY_PARAMETER],
        responses={201: TimelineEntrySerializer, **errors(400, 401, 404, 413, 415, 422)},
    )
    def post(self, request, incident_id: str):
        """Add a note to the timeline; with `status`, change the incident's status too."""
        incident = get_object_or_404(incidents_of(self.integration), external_id=incident_id)

        def add() -> tuple[int, dict]:
            serializer = NoteSerializer(data=request.data)
            serializer.is_valid(raise_exception=True)
            entry = operations.add_update(
                self.integration,
                incident,
                serializer.validated_data["message"],
                serializer.validated_data.get("status"),
            )
            return http.HTTP_201_CREATED, dict(TimelineEntrySerializer(entry).data)

        key = request.headers.get(idempotency.HEADER)
        if key is None:
            status, body = add()
            return Response(body, status=status)
        fingerprint = idempotency.request_fingerprint("POST", request.path, request.data)
        status, body, replayed = idempotency.run_once(self.integration, key, fingerprint, add)
        headers = {"Idempotent-Replayed": "true"} if replayed else {}
        return Response(body, status=status, headers=headers)


def _instant(value: str, name: str):
    try:
        parsed = parse_datetime(value)
    except ValueError:
        parsed = None
    if parsed is None:
        raise ValidationError({name: ["Expected an ISO 8601 date and time."]})
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
