"""The Forge `manifest.yml` that installs the portal as a "Connect on Forge" app.

Since 2026-03-31 Jira Cloud installs private apps only through Forge, and Jira's Operations API
still accepts only Connect JWTs, so the portal ships as a Forge app that carries its Connect
modules (docs/install.md; the format is Atlassian's manifest reference,
https://developer.atlassian.com/platform/forge/manifest-reference/). The manifest is derived
from the very descriptor served at /atlassian-connect.json, so the two can never disagree about
the module, the lifecycle paths, the key or the base URL. `tests/connect/test_forge_manifest.py`
checks it with `@forge/manifest`, the validator behind `forge lint` and `forge deploy`.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import yaml
from django.conf import settings
from django.http.request import validate_host

from .descriptor import build_descriptor, validate_settings

#: `app.connect.key` in the Forge schema: 1-90 characters of this set.
FORGE_CONNECT_KEY_PATTERN = re.compile(r"\A[a-zA-Z0-9\-._]+\Z")
FORGE_CONNECT_KEY_MAX_LENGTH = 90
#: The remote that serves the Connect side. Fixed: Forge refuses a configurable Connect remote,
#: and `app.connect.remote` must name an existing remote (≤23 characters).
CONNECT_REMOTE_KEY = "connect"
#: What the portal does with Jira's data: it stores it and computes on it.
REMOTE_OPERATIONS = ["storage", "compute"]
#: Forge requires `storage.inScopeEUD` on a remote that declares "storage": whether the remote
#: stores in-scope end-user data. It does: the portal keeps, in its own database, the Jira
#: account ids of the users who link containers, and what each site sends it. See
#: https://developer.atlassian.com/platform/forge/manifest-reference/remotes/
REMOTE_STORAGE = {"inScopeEUD": True}
LIFECYCLE_MODULE_KEY = "lifecycle-events"
#: Forge requires a runtime even for an app without Forge functions.
RUNTIMES = ("nodejs22.x", "nodejs24.x")
DEFAULT_RUNTIME = "nodejs22.x"
#: A Forge app id is an ARI around a UUID; `forge register` creates it.
APP_ID_PATTERN = re.compile(
    r"\A(?:ari:cloud:ecosystem::app/)?"
    r"([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\Z",
    re.IGNORECASE,
)
APP_ID_PREFIX = "ari:cloud:ecosystem::app/"
#: The placeholder Atlassian's own converter writes before `forge register` replaces it.
UNREGISTERED_APP_ID = "ari:cloud:ecosystem::app/invalid-run-forge-register"


class ForgeManifestError(ValueError):
    """The manifest cannot be rendered; `reasons` says every why, one line each."""

    def __init__(self, reasons: list[str]) -> None:
        super().__init__("; ".join(reasons))
        self.reasons = reasons


@dataclass(frozen=True)
class ForgeManifest:
    data: dict[str, Any]
    unregistered: bool

    def to_yaml(self) -> str:
        header = (
            "# Forge manifest of the Ops Portal (Connect on Forge), rendered by\n"
            "# `manage.py forge_manifest` from the portal's settings: render it again rather\n"
            "# than editing it, so it stays identical to /atlassian-connect.json.\n"
        )
        return header + yaml.dump(
            self.data, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=1000
        )


class _Dumper(yaml.SafeDumper):
    """Plain YAML: no `&id001` anchors, even if an object appears twice."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def build_forge_manifest(
    *, app_id: str | None = None, unregistered: bool = False, runtime: str = DEFAULT_RUNTIME
) -> ForgeManifest:
    """The manifest for this portal, or `ForgeManifestError` with every reason it cannot be.

    `app_id` defaults to FORGE_APP_ID. `unregistered` writes Atlassian's placeholder id
    instead, for the first `forge register`, which replaces it in the file.
    """
    if app_id is None:
        app_id = settings.FORGE_APP_ID
    reasons = [f"{p.setting}: {p.message}" for p in validate_settings()]
    reasons += _base_url_problems(settings.CONNECT_BASE_URL)
    reasons += _connect_key_problems(settings.CONNECT_APP_KEY)
    if urlsplit(settings.CONNECT_INSTALL_KEYS_URL).scheme != "https":
        reasons.append(
            f"CONNECT_INSTALL_KEYS_URL {settings.CONNECT_INSTALL_KEYS_URL!r} is not https: "
            "Jira Cloud's signed installs are verified with the keys at "
            "https://connect-install-keys.atlassian.com"
        )
    if runtime not in RUNTIMES:
        reasons.append(f"runtime {runtime!r} must be one of {', '.join(RUNTIMES)}")
    resolved_id, id_problem = _resolve_app_id(app_id, unregistered)
    if id_problem:
        reasons.append(id_problem)
    if reasons:
        raise ForgeManifestError(reasons)
    try:
        descriptor = build_descriptor()
    except ValueError as exc:  # the hashed logo URL needs collectstatic's manifest
        raise ForgeManifestError(
            [f"the descriptor cannot be built ({exc}); run `manage.py collectstatic` first"]
        ) from exc
    data = manifest_from_descriptor(descriptor, app_id=resolved_id, runtime=runtime)
    return ForgeManifest(data, unregistered)


def manifest_from_descriptor(
    descriptor: dict[str, Any], *, app_id: str, runtime: str = DEFAULT_RUNTIME
) -> dict[str, Any]:
    """Translate a Connect descriptor as Atlassian's converter does: each module becomes
    a one-element list under `jira:<name>`, holding the descriptor's own module object."""
    connect_modules: dict[str, list[dict[str, Any]]] = {
        "jira:lifecycle": [{"key": LIFECYCLE_MODULE_KEY, **descriptor["lifecycle"]}]
    }
    for name, module in descriptor["modules"].items():
        connect_modules[f"jira:{name}"] = module if isinstance(module, list) else [module]
    return {
        "app": {
            "id": app_id,
            "runtime": {"name": runtime},
            "connect": {
                "key": descriptor["key"],
                "remote": CONNECT_REMOTE_KEY,
                "authentication": descriptor["authentication"]["type"],
            },
        },
        "remotes": [
            {
                "key": CONNECT_REMOTE_KEY,
                "baseUrl": descriptor["baseUrl"],
                "operations": list(REMOTE_OPERATIONS),
                "storage": dict(REMOTE_STORAGE),
            }
        ],
        "connectModules": connect_modules,
        "permissions": {"scopes": [forge_scope(scope) for scope in descriptor["scopes"]]},
    }


def forge_scope(connect_scope: str) -> str:
    """`READ` → `read:connect-jira`, `ACT_AS_USER` → `act-as-user:connect-jira`."""
    return connect_scope.lower().replace("_", "-") + ":connect-jira"


def _resolve_app_id(app_id: str, unregistered: bool) -> tuple[str, str | None]:
    app_id = app_id.strip()
    if unregistered:
        if app_id:
            return "", "give either an app id or --unregistered, not both"
        return UNREGISTERED_APP_ID, None
    if not app_id:
        return "", (
            "no Forge app id: run `forge register` once in the folder of a manifest rendered "
            "with --unregistered, then pass the id it writes into manifest.yml with --app-id or "
            "set FORGE_APP_ID"
        )
    match = APP_ID_PATTERN.match(app_id)
    if not match:
        return "", (
            f"app id {app_id!r} is not a Forge app id: expected "
            f"{APP_ID_PREFIX}<uuid>, as `forge register` writes it into manifest.yml"
        )
    return APP_ID_PREFIX + match.group(1).lower(), None


def _connect_key_problems(key: str) -> list[str]:
    problems = []
    if not FORGE_CONNECT_KEY_PATTERN.match(key):
        problems.append(
            f"CONNECT_APP_KEY {key!r} cannot be Forge's app.connect.key: it must be non-empty "
            "and contain only letters, digits, '.', '_' or '-'"
        )
    if len(key) > FORGE_CONNECT_KEY_MAX_LENGTH:
        problems.append(
            f"CONNECT_APP_KEY cannot be Forge's app.connect.key: it must be at most "
            f"{FORGE_CONNECT_KEY_MAX_LENGTH} characters (it has {len(key)})"
        )
    return problems


def _base_url_problems(url: str) -> list[str]:
    """Jira Cloud calls the remote from the internet, over https, by this exact host."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    problems = []
    if parts.scheme != "https":
        problems.append(
            f"CONNECT_BASE_URL {url!r} must start with https://: Forge remotes and Jira Cloud "
            "only call https apps"
        )
    if host and not _is_public_host(host):
        problems.append(
            f"CONNECT_BASE_URL host {host!r} is not a public host name: Jira Cloud must reach "
            "the portal from the internet"
        )
    if host and not validate_host(host, settings.ALLOWED_HOSTS):
        problems.append(
            f"CONNECT_BASE_URL host {host!r} is not in ALLOWED_HOSTS: Django would answer "
            "Jira's calls with 400"
        )
    return problems


def _is_public_host(host: str) -> bool:
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return "." in host and host != "localhost" and not host.endswith((".localhost", ".local"))
    return address.is_global
