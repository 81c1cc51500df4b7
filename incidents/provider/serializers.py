"""Request and response shapes of the actions Jira calls (Atlassian's "Operations information
actions": https://developer.atlassian.com/cloud/jira/software/modules/operations-information-actions/).

Requests are validated here (types, lengths, NUL and lone surrogates refused by DRF's CharField
validators); the same classes describe the actions in the OpenAPI document at /api/schema/.
Responses are built by `incidents.sync.payloads`; their serializers only document them.
"""

from django.core.validators import RegexValidator
from rest_framework import serializers

from incidents.models.associations import (
    ACCOUNT_ID_MAX_LENGTH,
    ARI_MAX_LENGTH,
    JIRA_REFERENCE_MAX_LENGTH,
)
from incidents.provider.rules import (
    ACCOUNT_ID_PATTERN,
    FETCH_WORKSPACES_MAX_IDS,
    SEARCH_QUERY_MAX_LENGTH,
)
from incidents.validators import ENTITY_ID_MAX_LENGTH


class StrictCharField(serializers.CharField):
    """A JSON string and nothing else: DRF's CharField would quietly turn 12 or true into text,
    and a wrong type from Jira is a bug to report, not to guess around."""

    default_error_messages = {"invalid": "Must be a string, not {kind}."}

    def __init__(self, **kwargs) -> None:
        kwargs.setdefault("trim_whitespace", False)
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid", kind=type(data).__name__)
        return super().to_internal_value(data)


# --- fetchWorkspaces ---------------------------------------------------------------------------


class FetchWorkspacesRequest(serializers.Serializer):
    ids = serializers.ListField(
        child=StrictCharField(max_length=ENTITY_ID_MAX_LENGTH, allow_blank=True),
        max_length=FETCH_WORKSPACES_MAX_IDS,
        help_text=f"Workspace ids, at most {FETCH_WORKSPACES_MAX_IDS}; unknown ones are omitted.",
    )


class WorkspaceResponse(serializers.Serializer):
    id = serializers.CharField()
    name = serializers.CharField()
    url = serializers.URLField()
    avatarUrl = serializers.URLField(required=False)


class FetchWorkspacesResponse(serializers.Serializer):
    workspaces = WorkspaceResponse(many=True)


# --- searchContainers --------------------------------------------------------------------------


class SearchContainersQuery(serializers.Serializer):
    searchQuery = StrictCharField(
        required=False,
        allow_blank=True,
        max_length=SEARCH_QUERY_MAX_LENGTH,
        help_text="Part of a container's name or id, any case; empty lists every container.",
    )
    workspaceId = StrictCharField(
        required=False,
        max_length=ENTITY_ID_MAX_LENGTH,
        help_text="Only search this workspace.",
    )


class ContainerResponse(serializers.Serializer):
    id = serializers.CharField()
    name = serializers.CharField()
    url = serializers.URLField()
    avatarUrl = serializers.URLField(required=False)
    lastUpdatedDate = serializers.DateTimeField()


class SearchContainersResponse(serializers.Serializer):
    containers = ContainerResponse(many=True)


# --- onEntityAssociated / onEntityDisassociated ------------------------------------------------


class EntityReference(serializers.Serializer):
    id = StrictCharField(max_length=ENTITY_ID_MAX_LENGTH, help_text="A container or incident id.")
    ari = StrictCharField(required=False, allow_blank=True, max_length=ARI_MAX_LENGTH)


class JiraTargetReference(serializers.Serializer):
    ari = StrictCharField(max_length=ARI_MAX_LENGTH, help_text="The Jira project or issue ARI.")
    ati = StrictCharField(required=False, allow_blank=True, max_length=JIRA_REFERENCE_MAX_LENGTH)
    cloudId = StrictCharField(
        required=False, allow_blank=True, max_length=JIRA_REFERENCE_MAX_LENGTH
    )
    id = StrictCharField(required=False, allow_blank=True, max_length=JIRA_REFERENCE_MAX_LENGTH)


def account_id_field(**kwargs) -> StrictCharField:
    return StrictCharField(
        required=False,
        allow_blank=True,
        max_length=ACCOUNT_ID_MAX_LENGTH,
        validators=[
            RegexValidator(
                rf"^{ACCOUNT_ID_PATTERN}$", "An account id has letters, digits and : . _ - only."
            )
        ],
        **kwargs,
    )


class UserReference(serializers.Serializer):
    id = account_id_field(help_text="The acting user's Atlassian account id.")


class EntityAssociatedRequest(serializers.Serializer):
    entity = EntityReference()
    associatedWith = JiraTargetReference()
    user = UserReference(required=False)


class EntityDisassociatedRequest(serializers.Serializer):
    entity = EntityReference()
    disassociatedFrom = JiraTargetReference()
    user = UserReference(required=False)


class UserIdQuery(serializers.Serializer):
    userId = account_id_field(help_text="The acting user's account id, when not in the body.")


#: `{}`: the notification was recorded (a raw schema: a serializer without fields would be
#: documented as "no body").
EmptyResponse = {"type": "object", "additionalProperties": False, "maxProperties": 0}


class ErrorResponse(serializers.Serializer):
    error = serializers.CharField(help_text="A stable code, e.g. invalid_request, not_found.")
    detail = serializers.JSONField(help_text="Why, as text or as field → messages.")
