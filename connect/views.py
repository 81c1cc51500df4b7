"""Thin HTTP views: the descriptor, the lifecycle callbacks, and the base of Jira's actions."""

from __future__ import annotations

import logging
from typing import NoReturn

from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from rest_framework import exceptions
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView, exception_handler

from . import lifecycle
from .authentication import ConnectJWTAuthentication
from .descriptor import app_path, build_descriptor
from .errors import ConnectError
from .permissions import IsConnectRequest

logger = logging.getLogger(__name__)


def error_body(code: str | None, detail: object) -> dict[str, object]:
    """The one JSON shape of every refusal."""
    return {"error": code, "detail": detail}


def descriptor(request: HttpRequest) -> JsonResponse:
    """GET /atlassian-connect.json."""
    if request.method not in ("GET", "HEAD"):
        return _method_not_allowed(["GET", "HEAD"])
    return JsonResponse(build_descriptor())


@csrf_exempt
def lifecycle_callback(request: HttpRequest, event: str) -> HttpResponse:
    """POST /connect/<event>: 204 once applied (or knowingly ignored), else a JSON refusal."""
    if request.method != "POST":
        return _method_not_allowed(["POST"])
    try:
        body = request.body
    except RequestDataTooBig:
        return JsonResponse(error_body("malformed_payload", "the body is too large"), status=400)
    try:
        lifecycle.handle(
            lifecycle.LifecycleRequest(
                event=event,
                method=request.method,
                path=app_path(request.path),
                query=request.META.get("QUERY_STRING", ""),
                authorization=request.META.get("HTTP_AUTHORIZATION"),
                body=body,
            )
        )
    except ConnectError as exc:
        logger.warning("Connect %s refused: %s (%s)", event, exc.code, exc.reason)
        response = JsonResponse(error_body(exc.code, exc.reason), status=exc.status_code)
        if exc.status_code == 401:
            response["WWW-Authenticate"] = "JWT"
        return response
    return HttpResponse(status=204)


def connect_exception_handler(exc: Exception, context: dict) -> Response | None:
    """DRF's handler, with every error body shaped `{"error": code, "detail": why}`."""
    response = exception_handler(exc, context)
    if response is not None and isinstance(exc, exceptions.APIException):
        detail = exc.detail
        code = detail.code if isinstance(detail, exceptions.ErrorDetail) else "invalid"
        response.data = error_body(code, str(detail) if isinstance(detail, str) else detail)
    return response


class ConnectAPIView(APIView):
    """Base of every endpoint Jira calls server-to-server: subclass and implement get/post/…

    Only a verified Connect JWT of an installed, enabled site gets in; `request.auth` is a
    `connect.authentication.ConnectAuth`.
    """

    authentication_classes = [ConnectJWTAuthentication]
    permission_classes = [IsConnectRequest]

    def get_exception_handler(self):
        return connect_exception_handler

    def permission_denied(self, request: Request, message=None, code=None) -> NoReturn:
        if request.authenticators and not request.successful_authenticator:
            raise exceptions.NotAuthenticated(detail=message or IsConnectRequest.message)
        super().permission_denied(request, message=message, code=code)


def _method_not_allowed(allowed: list[str]) -> JsonResponse:
    response = JsonResponse(
        error_body("method_not_allowed", f"use {' or '.join(allowed)}"), status=405
    )
    response["Allow"] = ", ".join(allowed)
    return response
