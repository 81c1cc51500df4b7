"""The portal's URLs plus one echo endpoint built on ConnectAPIView, for these tests only."""

from django.urls import include, path
from rest_framework.response import Response

from connect.views import ConnectAPIView


class EchoView(ConnectAPIView):
    def get(self, request):
        return Response(
            {
                "client_key": request.auth.installation.client_key,
                "account_id": request.auth.account_id,
                "user_is_authenticated": request.user.is_authenticated,
            }
        )

    def post(self, request):
        return Response({"received": request.data})


urlpatterns = [
    path("connect-test/echo", EchoView.as_view(), name="connect-test-echo"),
    path("", include("portal.urls")),
]
