"""`Authorization: Bearer <token>`: the token names one integration, and through it one
workspace. A missing, unknown or revoked token is a 401 with `WWW-Authenticate: Bearer`."""

from __future__ import annotations

from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.permissions import BasePermission

from incidents.models import Integration

REALM = 'Bearer realm="ops-portal"'


class IntegrationTokenAuthentication(BaseAuthentication):
    """Sets `request.auth` to the integration; `request.user` stays None (no portal user)."""

    def authenticate(self, request) -> tuple[None, Integration] | None:
        header = get_authorization_header(request).split()
        if not header:
            return None
        if header[0].lower() != b"bearer" or len(header) != 2:
            raise exceptions.AuthenticationFailed(
                "Use 'Authorization: Bearer <token>' with the integration's token.",
                code="invalid_token",
            )
        try:
            token = header[1].decode("ascii")
        except UnicodeDecodeError:
            token = ""
        integration = Integration.authenticate(token) if token else None
        if integration is None:
            raise exceptions.AuthenticationFailed("Unknown or revoked token.", code="invalid_token")
        return None, integration

    def authenticate_header(self, request) -> str:
        return REALM


class HasIntegration(BasePermission):
    """Only calls that presented a valid integration token."""

    def has_permission(self, request, view) -> bool:
        if isinstance(request.auth, Integration):
            return True
        raise exceptions.NotAuthenticated(
            "Send 'Authorization: Bearer <token>' with an integration's token."
        )
