"""DRF authentication for Jira → app server-to-server calls (the module's actions).

The token (`Authorization: JWT …`, or the `jwt` query parameter, never both) names its site in
`iss`; the site must be installed and enabled, its stored secret must verify the HS256
signature, and `qsh` must be the hash of this very request (connect-framework.md §7).
Views read `request.auth.installation` and `request.auth.account_id`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth.models import AnonymousUser
from rest_framework.authentication import BaseAuthentication
from rest_framework.exceptions import AuthenticationFailed
from rest_framework.request import Request

from . import jwt as connect_jwt
from .descriptor import app_path
from .encryption import SecretDecryptionError
from .errors import ConnectError, InactiveInstallation, InvalidSignature, UnknownIssuer
from .models import Installation


@dataclass(frozen=True)
class ConnectAuth:
    """What a verified Jira call carries: the site, and the acting user's account id (`sub`)."""

    installation: Installation
    account_id: str | None
    claims: Mapping[str, Any] = field(repr=False)


class ConnectJWTAuthentication(BaseAuthentication):
    """Authenticates Jira's HS256 Connect JWT; the user is anonymous, the auth a ConnectAuth."""

    def authenticate(self, request: Request) -> tuple[AnonymousUser, ConnectAuth] | None:
        token = self.get_token(request)
        if token is None:
            return None
        found: dict[str, Installation] = {}

        def secret_for(issuer: str) -> str:
            installation = active_installation(issuer)
            found["installation"] = installation
            try:
                return installation.shared_secret
            except SecretDecryptionError as exc:
                raise InvalidSignature("this site's secret is unreadable; reinstall") from exc

        assert request.method is not None  # set on every request Django serves
        try:
            verified = connect_jwt.verify_server_token(
                token,
                method=request.method,
                path=app_path(request.path),
                query=request.META.get("QUERY_STRING", ""),
                secret_for=secret_for,
            )
        except ConnectError as exc:
            raise AuthenticationFailed(exc.reason, code=exc.code) from exc
        auth = ConnectAuth(found["installation"], verified.account_id, verified.claims)
        return AnonymousUser(), auth

    def authenticate_header(self, request: Request) -> str:
        return "JWT"

    @staticmethod
    def get_token(request: Request) -> str | None:
        """The token from the header or the `jwt` query parameter; both at once is refused."""
        header = request.META.get("HTTP_AUTHORIZATION")
        from_header = connect_jwt.token_from_authorization(header)
        if header and from_header is None:
            raise AuthenticationFailed(
                "the Authorization header must be 'JWT <token>'", code="malformed_token"
            )
        from_query = request.query_params.getlist(connect_jwt.JWT_QUERY_PARAM)
        if from_query and from_header:
            raise AuthenticationFailed(
                "send the JWT in the Authorization header or in ?jwt=, not both",
                code="ambiguous_token",
            )
        if len(from_query) > 1:
            raise AuthenticationFailed("send one ?jwt= parameter", code="ambiguous_token")
        return from_header or (from_query[0] if from_query else None)


def active_installation(client_key: str) -> Installation:
    """The installed, enabled site with this clientKey, or a ConnectError saying why not."""
    installation = Installation.objects.filter(client_key=client_key).first()
    if installation is None:
        raise UnknownIssuer("no Jira site with this 'iss' has installed the app")
    if installation.state != Installation.State.INSTALLED:
        raise InactiveInstallation("this Jira site has uninstalled the app")
    if not installation.enabled:
        raise InactiveInstallation("this Jira site has disabled the app")
    return installation
