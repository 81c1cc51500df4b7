"""The alert webhooks: POST with a JSON body only, answered 202 `{"incidents": [ids]}`.

Every delivery is recorded: applied ones by `alerts.deliver` in the transaction of their effect,
refused ones (bad body, wrong method or media type) here, with the error they were answered.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from django.utils import timezone
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
)
from rest_framework import status
from rest_framework.exceptions import APIException
from rest_framework.response import Response

from incidents.api import alertmanager, generic, grafana, openapi
from incidents.api.alerts import AlertNotification, deliver, record_refusal
from incidents.api.base import IntegrationAPIView
from incidents.api.errors import error_body
from incidents.api.serializers import ErrorSerializer, WebhookResultSerializer
from incidents.models import Integration

ANSWERS = {
    202: WebhookResultSerializer,
    **{code: OpenApiResponse(ErrorSerializer) for code in (400, 401, 405, 413, 415)},
}


class WebhookView(IntegrationAPIView):
    endpoint: str
    parse: Callable[[Integration, Any], AlertNotification]
    http_method_names = ["post"]

    def initial(self, request, *args, **kwargs) -> None:
        self.received_at = timezone.now()
        super().initial(request, *args, **kwargs)

    def post(self, request):
        notification = type(self).parse(self.integration, request.data)
        delivery = deliver(
            self.integration,
            notification,
            endpoint=self.endpoint,
            received_at=self.received_at,
        )
        ids = [incident.external_id for incident in delivery.touched]
        return Response({"incidents": ids}, status=status.HTTP_202_ACCEPTED)

    def handle_exception(self, exc: Exception):
        response = super().handle_exception(exc)
        integration = getattr(self.request, "auth", None)
        if isinstance(integration, Integration) and isinstance(exc, APIException):
            record_refusal(
                integration,
                endpoint=self.endpoint,
                status_code=response.status_code,
                error=json.dumps(error_body(exc)),
                received_at=getattr(self, "received_at", None),
            )
        return response


def documented(operation_id: str, body: dict, example: dict, description: str):
    """The OpenAPI description of a webhook's POST: its body schema and a documented example."""
    return extend_schema_view(
        post=extend_schema(
            operation_id=operation_id,
            description=description,
            request={"application/json": body},
            examples=[OpenApiExample("firing", value=example, request_only=True)],
            responses=ANSWERS,
        )
    )


@documented(
    "alertmanagerWebhook",
    openapi.ALERTMANAGER_BODY,
    openapi.ALERTMANAGER_EXAMPLE,
    "Prometheus Alertmanager's webhook (version 4): one open incident per groupKey.",
)
class AlertmanagerWebhook(WebhookView):
    endpoint = Integration.Kind.ALERTMANAGER
    parse = staticmethod(alertmanager.parse)


@documented(
    "grafanaWebhook",
    openapi.GRAFANA_BODY,
    openapi.GRAFANA_EXAMPLE,
    "Grafana alerting's webhook contact point: one open incident per groupKey.",
)
class GrafanaWebhook(WebhookView):
    endpoint = Integration.Kind.GRAFANA
    parse = staticmethod(grafana.parse)


@documented(
    "genericWebhook",
    openapi.GENERIC_BODY,
    openapi.GENERIC_EXAMPLE,
    "Any tool: one open incident per dedup_key.",
)
class GenericWebhook(WebhookView):
    endpoint = Integration.Kind.GENERIC
    parse = staticmethod(generic.parse)
