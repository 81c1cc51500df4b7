"""The actions Jira calls, as thin DRF views over `incidents.provider.rules`.

`ConnectAPIView` lets in only a verified Connect JWT of an installed, enabled site, and gives
the site as `request.auth.installation`; that site, never a body field, scopes every answer.
Every refusal is `{"error": code, "detail": why}` with a 4xx status.
"""

from __future__ import annotations

from typing import cast

from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema
from rest_framework.request import Request
from rest_framework.response import Response

from connect.authentication import ConnectAuth
from connect.views import ConnectAPIView, connect_exception_handler, error_body
from incidents.provider import openapi as _openapi  # noqa: F401 (registers the JWT security scheme)
from incidents.provider import rules as actions
from incidents.provider.serializers import (
    EmptyResponse,
    EntityAssociatedRequest,
    EntityDisassociatedRequest,
    ErrorResponse,
    FetchWorkspacesRequest,
    FetchWorkspacesResponse,
    SearchContainersQuery,
    SearchContainersResponse,
    UserIdQuery,
)

TAG = "Jira actions"
#: Jira's action bodies are a few hundred bytes (100 ids at most); anything far larger is
#: refused before it is read.
MAX_BODY_BYTES = 64 * 1024
REFUSALS = {
    400: OpenApiResponse(ErrorResponse, description="The request is malformed; nothing changed."),
    401: OpenApiResponse(ErrorResponse, description="No valid Connect JWT of an active site."),
}


def action_exception_handler(exc: Exception, context: dict) -> Response | None:
    """`actions.ActionError` as its status and `{"error", "detail"}`; the rest as Connect's."""
    if isinstance(exc, actions.ActionError):
        return Response(error_body(exc.code, exc.message), status=exc.status)
    return connect_exception_handler(exc, context)


class ActionView(ConnectAPIView):
    """Base of the four action views: JWT-authenticated, errors as JSON."""

    def get_exception_handler(self):
        return action_exception_handler

    def initial(self, request: Request, *args, **kwargs) -> None:
        super().initial(request, *args, **kwargs)
        length = request.META.get("CONTENT_LENGTH") or "0"
        if not length.isdigit() or int(length) > MAX_BODY_BYTES:
            raise actions.InvalidInput(
                f"the body must be at most {MAX_BODY_BYTES} bytes of JSON", field="body"
            )

    @staticmethod
    def validated(serializer_class, data) -> dict:
        if not isinstance(data, dict):
            raise actions.InvalidInput("the body must be a JSON object")
        serializer = serializer_class(data=data)
        serializer.is_valid(raise_exception=True)
        return serializer.validated_data


def _auth(request: Request) -> ConnectAuth:
    """What ConnectJWTAuthentication verified (DRF's stubs type `request.auth` as its Token)."""
    return cast(ConnectAuth, request.auth)


def ids_from_query(request: Request) -> list[str]:
    """`?ids=a&ids=b` or `?ids=a,b` (workspace ids never contain commas)."""
    return [
        part.strip()
        for value in request.query_params.getlist("ids")
        for part in value.split(",")
        if part.strip()
    ]


class FetchWorkspacesView(ActionView):
    """fetchWorkspaces: POST `{"ids": [...]}` (or `?ids=`) → the site's workspaces among them."""

    @extend_schema(
        operation_id="fetchWorkspaces",
        tags=[TAG],
        request=FetchWorkspacesRequest,
        responses={200: FetchWorkspacesResponse, **REFUSALS},
        examples=[
            OpenApiExample("Two ids", value={"ids": ["ws-payments", "ws-1"]}, request_only=True)
        ],
        description="The requested workspaces linked to the calling Jira site; others omitted.",
    )
    def post(self, request: Request) -> Response:
        query_ids = ids_from_query(request)
        data = request.data
        if query_ids and isinstance(data, dict) and "ids" not in data:
            ids = query_ids
        else:
            ids = self.validated(FetchWorkspacesRequest, data)["ids"]
        return Response({"workspaces": actions.fetch_workspaces(_auth(request).installation, ids)})


class SearchContainersView(ActionView):
    """searchContainers: GET `?searchQuery=&workspaceId=` → ranked matches, at most 100."""

    @extend_schema(
        operation_id="searchContainers",
        tags=[TAG],
        parameters=[SearchContainersQuery],
        responses={200: SearchContainersResponse, **REFUSALS},
        description=(
            "Containers of the calling site's workspaces matching searchQuery (any case): exact "
            "names or ids first, then names and then ids that start with it, then, for queries "
            "of 3 characters or more, names or ids that contain it."
        ),
    )
    def get(self, request: Request) -> Response:
        query = self.validated(SearchContainersQuery, request.query_params.dict())
        containers = actions.search_containers(
            _auth(request).installation, query.get("searchQuery"), query.get("workspaceId")
        )
        return Response({"containers": containers})


class EntityNotificationView(ActionView):
    """onEntityAssociated / onEntityDisassociated: PUT (or POST) a notification; 200 `{}`.

    Recorded at once (one small write), so Jira gets its answer without waiting on a queue.
    """

    request_serializer: type = EntityAssociatedRequest
    target_field = "associatedWith"

    def apply(self, installation, entity: dict, target: actions.JiraTarget, account_id) -> None:
        raise NotImplementedError

    def notify(self, request: Request) -> Response:
        body = self.validated(self.request_serializer, request.data)
        query = self.validated(UserIdQuery, request.query_params.dict())
        reference = body[self.target_field]
        target = actions.JiraTarget(
            ari=reference["ari"],
            ati=reference.get("ati", ""),
            cloud_id=reference.get("cloudId", ""),
            id=reference.get("id", ""),
        )
        account_id = actions.acting_account_id(
            body.get("user", {}).get("id"), query.get("userId"), _auth(request).account_id
        )
        self.apply(_auth(request).installation, body["entity"], target, account_id)
        return Response({})


def notification_example(target_field: str) -> OpenApiExample:
    """What Jira sends when a user connects container `payments-db` to project 10001."""
    return OpenApiExample(
        "A project and a container",
        value={
            "entity": {
                "ari": "ari:cloud:jira:cloud-1:operations-container/payments-db",
                "id": "payments-db",
            },
            target_field: {
                "ati": "ati:cloud:jira:project",
                "ari": "ari:cloud:jira:cloud-1:project/10001",
                "cloudId": "cloud-1",
                "id": "10001",
            },
            "user": {"id": "557058:f58131cb-b67d-43c7-b30d-6b58d40bd077"},
        },
        request_only=True,
    )


def notification_schema(operation_id: str, serializer: type, description: str):
    target_field = (
        "associatedWith" if serializer is EntityAssociatedRequest else "disassociatedFrom"
    )
    return extend_schema(
        operation_id=operation_id,
        tags=[TAG],
        request=serializer,
        parameters=[UserIdQuery],
        responses={
            200: OpenApiResponse(EmptyResponse, description="Recorded (or already so)."),
            **REFUSALS,
            404: OpenApiResponse(
                ErrorResponse, description="No such container or incident for this site."
            ),
        },
        description=description,
        examples=[notification_example(target_field)],
    )


ASSOCIATED = "Jira connected a Jira project or issue to a container (or incident); idempotent."
DISASSOCIATED = "Jira disconnected a Jira project or issue from a container; idempotent."


class EntityAssociatedView(EntityNotificationView):
    request_serializer = EntityAssociatedRequest
    target_field = "associatedWith"

    def apply(self, installation, entity: dict, target: actions.JiraTarget, account_id) -> None:
        actions.record_association(
            installation,
            entity_id=entity["id"],
            entity_ari=entity.get("ari", ""),
            target=target,
            account_id=account_id,
        )

    @notification_schema("onEntityAssociated", EntityAssociatedRequest, ASSOCIATED)
    def put(self, request: Request) -> Response:
        return self.notify(request)

    @notification_schema("onEntityAssociatedByPost", EntityAssociatedRequest, ASSOCIATED)
    def post(self, request: Request) -> Response:
        return self.notify(request)


class EntityDisassociatedView(EntityNotificationView):
    request_serializer = EntityDisassociatedRequest
    target_field = "disassociatedFrom"

    def apply(self, installation, entity: dict, target: actions.JiraTarget, account_id) -> None:
        actions.remove_association(
            installation,
            entity_id=entity["id"],
            entity_ari=entity.get("ari", ""),
            target=target,
        )

    @notification_schema("onEntityDisassociated", EntityDisassociatedRequest, DISASSOCIATED)
    def put(self, request: Request) -> Response:
        return self.notify(request)

    @notification_schema("onEntityDisassociatedByPost", EntityDisassociatedRequest, DISASSOCIATED)
    def post(self, request: Request) -> Response:
        return self.notify(request)
