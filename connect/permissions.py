"""DRF permission: the request was made by Jira for an active site (see authentication.py)."""

from rest_framework.permissions import BasePermission

from .authentication import ConnectAuth


class IsConnectRequest(BasePermission):
    message = "this endpoint needs a Connect JWT from Jira: 'Authorization: JWT <token>'"

    def has_permission(self, request, view) -> bool:
        return isinstance(request.auth, ConnectAuth)
