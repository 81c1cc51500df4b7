"""DRF authentication for Jira → app server-to-server calls (the module's actions).

The token (`Authorization: JWT …` only; a `?jwt=` parameter is refused) names its site in `iss`;
the site must be installed and enabled, its stored secret must verify the HS256 signature, and
`qsh` must be the hash of this very request
(https://developer.atlassian.com/cloud/jira/platform/understanding-jwt-for-connect-apps/).
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
from .errors import ConnectError, InvalidSignature
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
            installation = Installation.objects.installed(issuer)
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
        """The token of the `Authorization: JWT <token>` header, the only place it is read.

        A `?jwt=` query parameter is refused outright: access logs and proxies keep query
        strings, and since `qsh` does not cover the body, a logged token could be replayed with
        another body within its lifetime.
        """
        if connect_jwt.JWT_QUERY_PARAM in request.query_params:
            raise AuthenticationFailed(
                "send the JWT in the Authorization header, never in ?jwt=",
                code="token_in_query",
            )
        header = request.META.get("HTTP_AUTHORIZATION")
        token = connect_jwt.token_from_authorization(header)
        if header and token is None:
            raise AuthenticationFailed(
                "the Authorization header must be 'JWT <token>'", code="malformed_token"
            )
        return token
