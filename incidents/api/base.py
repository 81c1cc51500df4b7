"""What every API and webhook view shares: bearer-token authentication, JSON bodies of at most
1 MiB, JSON answers, and refusals as `{"error", "detail", "fields"}`."""

from __future__ import annotations

from rest_framework.renderers import JSONRenderer
from rest_framework.views import APIView

from incidents.api import openapi as _openapi  # noqa: F401 (registers the bearer scheme)
from incidents.api.authentication import HasIntegration, IntegrationTokenAuthentication
from incidents.api.errors import api_exception_handler
from incidents.api.parsers import LimitedJSONParser
from incidents.models import Integration


class IntegrationAPIView(APIView):
    authentication_classes = [IntegrationTokenAuthentication]
    permission_classes = [HasIntegration]
    parser_classes = [LimitedJSONParser]
    renderer_classes = [JSONRenderer]

    def get_exception_handler(self):
        return api_exception_handler

    @property
    def integration(self) -> Integration:
        assert isinstance(self.request.auth, Integration)  # BearerTokenAuthentication's
        return self.request.auth
