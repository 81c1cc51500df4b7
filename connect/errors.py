"""Every way a Connect request can be refused, one class each, with its HTTP status.

Views turn any `ConnectError` into `{"error": <code>, "detail": <reason>}` with `status_code`,
so a refusal is always a JSON 4xx (or 503 when Jira should retry), never a 500.
"""

from __future__ import annotations


class ConnectError(Exception):
    """Base of all refusals; `reason` is safe to show (it never contains a secret or token)."""

    status_code = 401
    code = "invalid_token"

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


# --- The token itself ------------------------------------------------------------------------


class MissingToken(ConnectError):
    code = "missing_token"


class MalformedToken(ConnectError):
    code = "malformed_token"


class AlgorithmNotAllowed(ConnectError):
    code = "algorithm_not_allowed"


class MissingClaim(ConnectError):
    code = "missing_claim"


class InvalidClaim(ConnectError):
    code = "invalid_claim"


class TokenExpired(ConnectError):
    code = "token_expired"


class TokenNotYetValid(ConnectError):
    code = "token_not_yet_valid"


class InvalidSignature(ConnectError):
    code = "invalid_signature"


class QshMismatch(ConnectError):
    code = "qsh_mismatch"


class ContextQshRefused(ConnectError):
    code = "context_qsh_refused"


class InvalidAudience(ConnectError):
    code = "invalid_audience"


class TokenReplayed(ConnectError):
    code = "token_replayed"


# --- Who signed it ---------------------------------------------------------------------------


class UnknownIssuer(ConnectError):
    code = "unknown_issuer"


class InactiveInstallation(ConnectError):
    code = "inactive_installation"


class InvalidKeyId(ConnectError):
    code = "invalid_kid"


class UnknownKeyId(ConnectError):
    code = "unknown_kid"


class InvalidPublicKey(ConnectError):
    code = "invalid_public_key"


class KeyServerUnavailable(ConnectError):
    """The install-key server could not be reached: 503, so Jira retries the install."""

    status_code = 503
    code = "key_server_unavailable"


# --- The lifecycle payload -------------------------------------------------------------------


class IssuerMismatch(ConnectError):
    """The token was signed for one site and the body names another."""

    code = "issuer_mismatch"


class MalformedPayload(ConnectError):
    status_code = 400
    code = "malformed_payload"


class MissingFields(ConnectError):
    status_code = 400
    code = "missing_fields"


class InvalidField(ConnectError):
    status_code = 400
    code = "invalid_field"


class WrongAppKey(ConnectError):
    status_code = 400
    code = "wrong_app_key"


class WrongEventType(ConnectError):
    status_code = 400
    code = "wrong_event_type"


class SiteNotAllowed(ConnectError):
    """The body's baseUrl is not a Jira site this portal accepts (CONNECT_ALLOWED_SITE_HOSTS)."""

    status_code = 403
    code = "site_not_allowed"
