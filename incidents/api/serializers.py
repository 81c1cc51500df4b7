"""The REST API's shapes: an incident as the API shows it, what POST and PATCH accept, and the
timeline."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from incidents.api.containers import containers_by_id
from incidents.models import Incident, IncidentUpdate
from incidents.validators import (
    AFFECTED_COMPONENTS_MAX,
    DESCRIPTION_MAX_LENGTH,
    ENTITY_ID_MAX_LENGTH,
    SUMMARY_MAX_LENGTH,
)

SEVERITIES = Incident.Severity.choices
STATUSES = Incident.Status.choices


class IncidentSerializer(serializers.ModelSerializer):
    """An incident: `id` is its id as Jira sees it (e.g. INC-42)."""

    id = serializers.CharField(source="external_id", read_only=True)
    severity = serializers.SerializerMethodField()
    containers = serializers.SerializerMethodField()
    created_at = serializers.DateTimeField(source="created_date", read_only=True)
    updated_at = serializers.DateTimeField(source="last_updated", read_only=True)

    class Meta:
        model = Incident
        fields = [
            "id",
            "summary",
            "description",
            "status",
            "severity",
            "url",
            "containers",
            "created_at",
            "updated_at",
            "resolved_at",
        ]
        read_only_fields = fields

    def get_severity(self, incident: Incident) -> str | None:
        """P1…P5 or unknown; null when the incident sends Jira no severity."""
        return incident.severity or None

    def get_containers(self, incident: Incident) -> list[str]:
        """The external ids of the affected containers."""
        return sorted(c.external_id for c in incident.affected_containers.all())


class ContainerIdsField(serializers.ListField):
    child = serializers.CharField(max_length=ENTITY_ID_MAX_LENGTH)

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(max_length=AFFECTED_COMPONENTS_MAX, **kwargs)


class IncidentWriteSerializer(serializers.Serializer):
    """What POST (and, every field optional, PATCH) accepts; containers are the workspace's
    container ids, resolved to containers by `validate_containers`."""

    summary = serializers.CharField(max_length=SUMMARY_MAX_LENGTH)
    description = serializers.CharField(
        max_length=DESCRIPTION_MAX_LENGTH, required=False, allow_blank=True
    )
    severity = serializers.ChoiceField(choices=SEVERITIES, required=False)
    status = serializers.ChoiceField(choices=STATUSES, required=False)
    containers = ContainerIdsField(required=False)

    def validate_containers(self, ids: list[str]) -> list:
        return containers_by_id(self.context["integration"].workspace, ids)


class IncidentCreateSerializer(IncidentWriteSerializer):
    dedup_key = serializers.CharField(
        max_length=ENTITY_ID_MAX_LENGTH,
        required=False,
        help_text="While an incident opened with this key is open, POSTs with it return that "
        "incident (200) instead of opening another.",
    )


class IncidentPatchSerializer(IncidentWriteSerializer):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("partial", True)
        super().__init__(*args, **kwargs)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if not attrs:
            raise serializers.ValidationError(
                "Give at least one of summary, description, severity, status, containers."
            )
        return attrs


class TimelineEntrySerializer(serializers.ModelSerializer):
    actor = serializers.CharField(read_only=True)

    class Meta:
        model = IncidentUpdate
        fields = ["id", "kind", "created_at", "actor", "old_value", "new_value", "message"]
        read_only_fields = fields


class NoteSerializer(serializers.Serializer):
    message = serializers.CharField(max_length=DESCRIPTION_MAX_LENGTH)
    status = serializers.ChoiceField(choices=STATUSES, required=False)


class WebhookResultSerializer(serializers.Serializer):
    incidents = serializers.ListField(child=serializers.CharField(), help_text="Incident ids.")


class ErrorSerializer(serializers.Serializer):
    error = serializers.CharField()
    detail = serializers.CharField()
    fields = serializers.DictField(  # type: ignore[assignment]  # a response field named "fields"
        child=serializers.ListField(child=serializers.CharField()), required=False
    )


class IncidentPageSerializer(serializers.Serializer):
    count = serializers.IntegerField()
    next = serializers.URLField(allow_null=True)
    previous = serializers.URLField(allow_null=True)
    results = IncidentSerializer(many=True)


class TimelinePageSerializer(serializers.Serializer):
    count = serializers.IntegerField()
    next = serializers.URLField(allow_null=True)
    previous = serializers.URLField(allow_null=True)
    results = TimelineEntrySerializer(many=True)
