"""The rules of the lifecycle callbacks (`installed`, `uninstalled`, `enabled`, `disabled`).

Nothing is written until the token verifies and the body agrees with it: a signed install
(RS256, key by `kid`, `aud` = our base URL, `qsh` of this request), `iss` equal to the body's
clientKey, our app key, the right eventType, a Jira site URL. The body itself is not signed, so an
accepted token is remembered until it expires and refused if presented again. Then one
transaction upserts the Installation by clientKey, ignoring events older than the last applied.
Connect on Forge sends neither `enabled` nor `disabled` and may never re-send `installed`, so
nothing depends on them
(https://developer.atlassian.com/platform/adopting-forge-from-connect/).
"""

from __future__ import annotations

import hmac
import logging
import time
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, models, transaction
from django.db.models import Q
from django.utils import timezone

from . import json_bodies, site_urls
from . import jwt as connect_jwt
from .encryption import SecretDecryptionError
from .errors import (
    ConnectError,
    InvalidField,
    InvalidSignature,
    IssuerMismatch,
    MalformedPayload,
    MissingFields,
    MissingToken,
    TokenReplayed,
    WrongAppKey,
    WrongEventType,
)
from .models import Installation, UsedLifecycleToken
from .signals import installation_installed, installation_uninstalled

logger = logging.getLogger(__name__)

INSTALLED, UNINSTALLED, ENABLED, DISABLED = "installed", "uninstalled", "enabled", "disabled"
EVENTS = (INSTALLED, UNINSTALLED, ENABLED, DISABLED)
#: Body fields each event must carry (`sharedSecret` only arrives on `installed`).
REQUIRED_FIELDS = {
    INSTALLED: ("key", "clientKey", "sharedSecret", "baseUrl", "eventType"),
    UNINSTALLED: ("key", "clientKey", "eventType"),
    ENABLED: ("key", "clientKey", "eventType"),
    DISABLED: ("key", "clientKey", "eventType"),
}
#: Body field → Installation field, for the fields stored on install.
STORED_FIELDS = {
    "clientKey": "client_key",
    "key": "app_key",
    "baseUrl": "base_url",
    "displayUrl": "display_url",
    "cloudId": "cloud_id",
    "installationId": "installation_id",
    "productType": "product_type",
    "description": "description",
    "serverVersion": "server_version",
    "pluginsVersion": "plugins_version",
}
MAX_SECRET_LENGTH = 512
MAX_BODY_BYTES = 64 * 1024


@dataclass(frozen=True)
class LifecycleRequest:
    """What a lifecycle view hands over: the route's event and the raw request."""

    event: str
    method: str
    path: str  # relative to CONNECT_BASE_URL
    query: str
    authorization: str | None
    body: bytes


@dataclass(frozen=True)
class LifecycleOutcome:
    installation: Installation | None
    applied: bool
    note: str


def handle(request: LifecycleRequest) -> LifecycleOutcome:
    """Verify a lifecycle callback and apply it; raise a ConnectError to refuse it."""
    if request.event not in EVENTS:
        raise WrongEventType(f"unknown lifecycle event {request.event!r}")
    token = connect_jwt.token_from_authorization(request.authorization)
    if token is None:
        raise MissingToken("lifecycle callbacks must carry 'Authorization: JWT <token>'")
    verified = verify_token(request, token)
    payload = parse_payload(request.body, request.event)
    check_payload(payload, request.event, verified)
    remember_token(verified)
    try:
        return apply(request.event, payload, verified)
    except Exception:
        forget_token(verified)
        raise


def verify_token(request: LifecycleRequest, token: str) -> connect_jwt.VerifiedToken:
    """RS256 signed-install verification; `enabled`/`disabled` may instead be HS256 signed
    with the site's stored secret (each path pins its own algorithm and key source)."""
    where: dict[str, Any] = {"method": request.method, "path": request.path, "query": request.query}
    if request.event in (ENABLED, DISABLED) and _header_alg(token) == connect_jwt.HS256:
        return connect_jwt.verify_server_token(token, secret_for=stored_secret, **where)
    return connect_jwt.verify_install_token(token, **where)


def stored_secret(client_key: str) -> str:
    """The secret of an installed site (enabled or not), for HS256 enabled/disabled."""
    installation = Installation.objects.installed(client_key, require_enabled=False)
    try:
        return installation.shared_secret
    except SecretDecryptionError as exc:
        raise InvalidSignature("this site's secret is unreadable; reinstall the app") from exc


def parse_payload(body: bytes, event: str) -> dict[str, Any]:
    """The JSON body as a dict of the fields we use, type- and length-checked."""
    if len(body) > MAX_BODY_BYTES:
        raise MalformedPayload(f"the body is larger than {MAX_BODY_BYTES} bytes")
    try:
        payload = json_bodies.loads(body)
    except json_bodies.UnsafeJSON as exc:
        raise MalformedPayload(str(exc)) from exc
    if not isinstance(payload, dict):
        raise MalformedPayload("the body must be a JSON object")
    missing = [name for name in REQUIRED_FIELDS[event] if payload.get(name) in (None, "")]
    if missing:
        raise MissingFields(f"the body lacks {', '.join(missing)}")
    for name in (*STORED_FIELDS, "sharedSecret", "eventType"):
        value = payload.get(name)
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, (str, int, float)):
            raise InvalidField(f"'{name}' must be a string")
        value = str(value)
        limit = _max_length(name)
        if len(value) > limit:
            raise InvalidField(f"'{name}' is longer than {limit} characters")
        payload[name] = value
    return payload


def check_payload(payload: dict[str, Any], event: str, verified: connect_jwt.VerifiedToken) -> None:
    """The body must belong to the token's site, to this app, to this route and to Jira."""
    if not hmac.compare_digest(
        payload["clientKey"].encode("utf-8"), verified.issuer.encode("utf-8")
    ):
        raise IssuerMismatch("the token's 'iss' is not the body's clientKey")
    if payload["key"] != settings.CONNECT_APP_KEY:
        raise WrongAppKey(f"the body's key {payload['key']!r} is not this app's key")
    if payload["eventType"] != event:
        raise WrongEventType(
            f"eventType {payload['eventType']!r} was sent to the {event!r} callback"
        )
    if event == INSTALLED:
        payload["baseUrl"] = site_urls.check_site_url(payload["baseUrl"])
        if payload.get("displayUrl"):
            payload["displayUrl"] = site_urls.check_display_url(payload["displayUrl"])


def remember_token(verified: connect_jwt.VerifiedToken) -> None:
    """Refuse a replay: the body is not signed, so one signed content is good for one body.

    Keyed on what was signed (the decoded header and payload), never on the token's text, so
    another spelling of the same token is the same token.
    """
    ttl = max(1, verified.expires_at - int(time.time()) + connect_jwt.leeway_seconds())
    now = timezone.now()
    UsedLifecycleToken.objects.filter(expires_at__lt=now).delete()
    try:
        with transaction.atomic():
            UsedLifecycleToken.objects.create(
                digest=verified.signed_digest, expires_at=now + timedelta(seconds=ttl)
            )
    except IntegrityError:
        raise TokenReplayed("this lifecycle token has already been used") from None


def forget_token(verified: connect_jwt.VerifiedToken) -> None:
    UsedLifecycleToken.objects.filter(digest=verified.signed_digest).delete()


def apply(event: str, payload: dict[str, Any], verified: connect_jwt.VerifiedToken):
    """Apply a verified event in one transaction, the site's row locked."""
    if event == INSTALLED:
        return install(payload, verified.issued_at)
    if event == UNINSTALLED:
        return uninstall(payload["clientKey"], verified.issued_at)
    return set_enabled(payload["clientKey"], verified.issued_at, enabled=event == ENABLED)


def install(payload: dict[str, Any], iat: int) -> LifecycleOutcome:
    """Create or update the site's row; the secret is replaced only here, after verification."""
    with transaction.atomic():
        installation = _locked(payload["clientKey"])
        reinstall = installation is not None
        if installation is None:
            installation = _insert_placeholder(payload["clientKey"])
            reinstall = installation.last_lifecycle_iat > 0
        if iat < installation.last_lifecycle_iat:
            return _ignored(installation, "an older installed event; a newer one was applied")
        for name, field in STORED_FIELDS.items():
            setattr(installation, field, payload.get(name) or "")
        installation.set_shared_secret(payload["sharedSecret"])
        installation.state = Installation.State.INSTALLED
        installation.enabled = True
        installation.uninstalled_at = None
        installation.superseded_by = None
        installation.superseded_at = None
        installation.last_lifecycle_iat = iat
        installation.save()
        superseded = supersede_older_installations(installation)
        installation_installed.send(
            sender=Installation, installation=installation, reinstall=reinstall
        )
    logger.info(
        "Connect installed: site=%s client_key=%s reinstall=%s superseded=%s",
        installation.base_url,
        installation.client_key,
        reinstall,
        [row.client_key for row in superseded],
    )
    return LifecycleOutcome(installation, True, "installed")


def supersede_older_installations(installation: Installation) -> list[Installation]:
    """Mark every other row of the same site superseded by `installation` (within the caller's
    transaction) and return them.

    The same site is the same `cloudId`, or the same `baseUrl` unless both rows carry different
    cloudIds (a renamed site's old name may have been taken by another site). Their secrets go
    at once; their workspace links stay for staff to carry over (`incidents.site_carry_over`).
    """
    same_site = Q(base_url=installation.base_url)
    if installation.cloud_id:
        same_site = Q(cloud_id=installation.cloud_id) | (same_site & Q(cloud_id=""))
    older = list(
        Installation.objects.select_for_update()
        .filter(same_site, superseded_by__isnull=True)
        .exclude(pk=installation.pk)
        .order_by("pk")
    )
    for row in older:
        row.supersede(installation)
        logger.info(
            "Connect installation superseded: site=%s client_key=%s by client_key=%s",
            row.base_url,
            row.client_key,
            installation.client_key,
        )
    return older


def uninstall(client_key: str, iat: int) -> LifecycleOutcome:
    """Mark the site uninstalled, keeping its row for the record but not its secret."""
    with transaction.atomic():
        installation = _locked(client_key)
        if installation is None:
            return _ignored(None, "no such site; nothing to uninstall")
        if iat < installation.last_lifecycle_iat:
            return _ignored(installation, "an older uninstalled event; a newer one was applied")
        installation.state = Installation.State.UNINSTALLED
        installation.uninstalled_at = timezone.now()
        installation.last_lifecycle_iat = iat
        installation.wipe_shared_secret()
        installation.save(
            update_fields=[
                "state",
                "uninstalled_at",
                "last_lifecycle_iat",
                "shared_secret_encrypted",
                "updated_at",
            ]
        )
        installation_uninstalled.send(sender=Installation, installation=installation)
    logger.info("Connect uninstalled: site=%s client_key=%s", installation.base_url, client_key)
    return LifecycleOutcome(installation, True, "uninstalled")


def set_enabled(client_key: str, iat: int, *, enabled: bool) -> LifecycleOutcome:
    """Toggle `enabled`; an unknown or uninstalled site, or an older event, changes nothing."""
    with transaction.atomic():
        installation = _locked(client_key)
        if installation is None or installation.state != Installation.State.INSTALLED:
            return _ignored(installation, "the site is not installed")
        if iat < installation.last_lifecycle_iat:
            return _ignored(installation, "an older event; a newer one was applied")
        installation.enabled = enabled
        installation.last_lifecycle_iat = iat
        installation.save(update_fields=["enabled", "last_lifecycle_iat", "updated_at"])
    logger.info("Connect %s: client_key=%s", "enabled" if enabled else "disabled", client_key)
    return LifecycleOutcome(installation, True, "enabled" if enabled else "disabled")


def _locked(client_key: str) -> Installation | None:
    return Installation.objects.select_for_update().filter(client_key=client_key).first()


def _insert_placeholder(client_key: str) -> Installation:
    """Insert the row for a new site, or lock the one a concurrent install just inserted."""
    try:
        with transaction.atomic():
            return Installation.objects.create(client_key=client_key)
    except IntegrityError:
        return Installation.objects.select_for_update().get(client_key=client_key)


def _ignored(installation: Installation | None, note: str) -> LifecycleOutcome:
    logger.info("Connect lifecycle event ignored: %s", note)
    return LifecycleOutcome(installation, False, note)


def _header_alg(token: str) -> object:
    try:
        return connect_jwt.unverified_header(token, algorithm=connect_jwt.HS256)["alg"]
    except ConnectError:
        return None


def _max_length(name: str) -> int:
    if name == "sharedSecret":
        return MAX_SECRET_LENGTH
    if name == "eventType":
        return 32
    field = Installation._meta.get_field(STORED_FIELDS[name])
    assert isinstance(field, models.CharField) and field.max_length is not None
    return field.max_length
