"""The Connect app descriptor served at /atlassian-connect.json, built from settings.

Field rules: https://developer.atlassian.com/cloud/jira/platform/connect-app-descriptor/; the
module: https://developer.atlassian.com/cloud/jira/software/modules/operations-information/.
Every URL is absolute under CONNECT_BASE_URL (lifecycle paths are relative to it, as Connect
expects); the apps that answer actions register them (`register_actions`).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.templatetags.static import static
from django.urls import reverse

from . import encryption
from .jwt import MAX_LEEWAY_SECONDS, relative_path

#: Descriptor `key` (the app descriptor reference above).
APP_KEY_PATTERN = re.compile(r"\A[a-zA-Z0-9\-._]+\Z")
APP_KEY_MAX_LENGTH = 80
#: `jiraOperationsInfoProvider.key` (the module reference above).
MODULE_KEY_PATTERN = re.compile(r"\A[a-zA-Z0-9-]+\Z")
MODULE_KEY_MAX_LENGTH = 100
APP_NAME_MAX_LENGTH = 80
APP_DESCRIPTION_MAX_LENGTH = 1400
BASE_URL_MAX_LENGTH = 200
#: Least privilege for the Operations API: GET → READ, POST → WRITE, DELETE → DELETE
#: (https://developer.atlassian.com/cloud/jira/software/rest/api-group-operations/).
SCOPES = ["READ", "WRITE", "DELETE"]
API_MIGRATIONS = {"signed-install": True, "context-qsh": True, "gdpr": True}
LIFECYCLE_URL_NAMES = {
    "installed": "connect-installed",
    "uninstalled": "connect-uninstalled",
    "enabled": "connect-enabled",
    "disabled": "connect-disabled",
}
#: Callables returning `{action: object}` for `jiraOperationsInfoProvider.actions`, registered by
#: the app that answers them (`register_actions`), so `connect` needs to know nothing about them.
_ACTION_PROVIDERS: list[Callable[[], dict[str, Any]]] = []


def register_actions(provider: Callable[[], dict[str, Any]]) -> None:
    """Add the actions `provider()` returns to the descriptor (called from an app's `ready()`).

    A provider is called each time the descriptor is built, so it may read settings and reverse
    URLs then. Registering the same callable twice has no effect.
    """
    if provider not in _ACTION_PROVIDERS:
        _ACTION_PROVIDERS.append(provider)


def base_url() -> str:
    """CONNECT_BASE_URL without a trailing slash."""
    return settings.CONNECT_BASE_URL.rstrip("/")


def app_path(path: str) -> str:
    """A site path (`reverse()` output) made relative to the base URL's own path."""
    return relative_path(path, urlsplit(base_url()).path)


def absolute_url(path: str) -> str:
    """An absolute URL under CONNECT_BASE_URL for a `reverse()`d or static path."""
    return base_url() + app_path(path)


def build_descriptor() -> dict[str, Any]:
    """The descriptor Jira reads when the app is installed."""
    base = base_url()
    return {
        "key": settings.CONNECT_APP_KEY,
        "name": settings.CONNECT_APP_NAME,
        "description": settings.CONNECT_APP_DESCRIPTION,
        "vendor": {"name": settings.CONNECT_VENDOR_NAME, "url": settings.CONNECT_VENDOR_URL},
        "baseUrl": base,
        "links": {
            "self": absolute_url(reverse("connect-descriptor")),
            "documentation": documentation_url(),
        },
        "authentication": {"type": "jwt"},
        "apiVersion": 1,
        "enableLicensing": False,
        "lifecycle": {
            event: app_path(reverse(name)) for event, name in LIFECYCLE_URL_NAMES.items()
        },
        "scopes": list(SCOPES),
        "apiMigrations": dict(API_MIGRATIONS),
        "modules": {"jiraOperationsInfoProvider": operations_module()},
    }


def operations_module() -> dict[str, Any]:
    """`modules.jiraOperationsInfoProvider`: a single object, not a list (the module
    reference above)."""
    return {
        "key": settings.CONNECT_MODULE_KEY,
        "name": {"value": settings.CONNECT_APP_NAME},
        "homeUrl": base_url() + "/",
        "logoUrl": absolute_url(static("connect/logo.svg")),
        "documentationUrl": documentation_url(),
        "actions": registered_actions(),
    }


def registered_actions() -> dict[str, Any]:
    """Every registered provider's actions, in registration order."""
    actions: dict[str, Any] = {}
    for provider in _ACTION_PROVIDERS:
        actions.update(provider())
    return actions


def documentation_url() -> str:
    """CONNECT_DOCUMENTATION_URL if set, else the vendor URL."""
    return settings.CONNECT_DOCUMENTATION_URL or settings.CONNECT_VENDOR_URL


# --- Settings validation (run by the `connect` system checks) -------------------------------


@dataclass(frozen=True)
class SettingsProblem:
    setting: str
    message: str


def validate_settings() -> list[SettingsProblem]:
    """Everything wrong with the Connect settings, for `manage.py check` to report."""
    problems: list[SettingsProblem] = []

    def problem(setting: str, message: str) -> None:
        problems.append(SettingsProblem(setting, message))

    app_key = settings.CONNECT_APP_KEY
    if not APP_KEY_PATTERN.match(app_key) or len(app_key) > APP_KEY_MAX_LENGTH:
        problem(
            "CONNECT_APP_KEY",
            f"{app_key!r} must be 1-{APP_KEY_MAX_LENGTH} letters, digits, '.', '_' or '-'",
        )
    module_key = settings.CONNECT_MODULE_KEY
    if not MODULE_KEY_PATTERN.match(module_key) or len(module_key) > MODULE_KEY_MAX_LENGTH:
        problem(
            "CONNECT_MODULE_KEY",
            f"{module_key!r} must be 1-{MODULE_KEY_MAX_LENGTH} letters, digits or '-'",
        )
    name = settings.CONNECT_APP_NAME
    if not name.strip() or len(name) > APP_NAME_MAX_LENGTH:
        problem("CONNECT_APP_NAME", f"must be 1-{APP_NAME_MAX_LENGTH} characters")
    if len(settings.CONNECT_APP_DESCRIPTION) > APP_DESCRIPTION_MAX_LENGTH:
        problem("CONNECT_APP_DESCRIPTION", f"must be at most {APP_DESCRIPTION_MAX_LENGTH} chars")
    if not settings.CONNECT_VENDOR_NAME.strip():
        problem("CONNECT_VENDOR_NAME", "must not be empty")

    for setting in ("CONNECT_BASE_URL", "CONNECT_VENDOR_URL", "CONNECT_INSTALL_KEYS_URL"):
        reason = _absolute_url_problem(getattr(settings, setting))
        if reason:
            problem(setting, reason)
    base = settings.CONNECT_BASE_URL
    if len(base) > BASE_URL_MAX_LENGTH:
        problem("CONNECT_BASE_URL", f"must be at most {BASE_URL_MAX_LENGTH} characters")
    if base.endswith("/") and urlsplit(base).path not in ("", "/"):
        problem("CONNECT_BASE_URL", "must not end with '/' when it has a path prefix")
    for audience in getattr(settings, "CONNECT_ALLOWED_AUDIENCES", []):
        reason = _absolute_url_problem(audience)
        if reason:
            problem("CONNECT_ALLOWED_AUDIENCES", f"{audience!r}: {reason}")

    hosts = getattr(settings, "CONNECT_ALLOWED_SITE_HOSTS", [])
    if not hosts:
        problem("CONNECT_ALLOWED_SITE_HOSTS", "must list at least one host pattern")
    for pattern in hosts:
        if not re.fullmatch(r"(\*\.)?[A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\]", pattern):
            problem(
                "CONNECT_ALLOWED_SITE_HOSTS",
                f"{pattern!r} must be a host name, optionally starting with '*.' (no scheme)",
            )

    leeway = settings.CONNECT_JWT_LEEWAY_SECONDS
    if not 0 <= leeway <= MAX_LEEWAY_SECONDS:
        problem("CONNECT_JWT_LEEWAY_SECONDS", f"must be 0-{MAX_LEEWAY_SECONDS} (is {leeway})")
    try:
        encryption.configured_keys()
    except ValueError:
        problem("FIELD_ENCRYPTION_KEY", "must be empty or comma-separated Fernet keys")
    return problems


def _absolute_url_problem(url: str) -> str | None:
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 (raises ValueError for a bad port)
    except ValueError:
        return f"{url!r} is not a valid URL"
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return f"{url!r} must be an absolute http(s) URL"
    if parts.username or parts.password or parts.query or parts.fragment:
        return f"{url!r} must not contain credentials, a query or a fragment"
    return None
