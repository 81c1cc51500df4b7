"""Jira's checks of a Connect app descriptor before it installs the app.

The Connect descriptor schema itself is not public here; these rules are the ones Atlassian's
pages establish
(https://developer.atlassian.com/cloud/jira/platform/connect-app-descriptor/,
https://developer.atlassian.com/cloud/jira/software/modules/operations-information/): ``key`` and
``baseUrl`` formats, ``authentication.type == "jwt"``, an ``installed`` lifecycle URL,
``apiMigrations.signed-install``, known ``scopes``, and, when present, a well-formed
``jiraOperationsInfoProvider`` module. An app without that module installs (Jira would), but the
Operations API then answers it 403.
"""

from __future__ import annotations

from urllib.parse import urljoin, urlsplit

from jsonschema import Draft7Validator

from jirasim import contract

_ACTION = {
    "type": "object",
    "required": ["templateUrl"],
    "properties": {"templateUrl": {"type": "string", "minLength": 1}},
}

MODULE_SCHEMA = {
    "type": "object",
    "required": ["key", "name", "homeUrl", "actions"],
    "properties": {
        "key": {"type": "string", "maxLength": 100, "pattern": "^[a-zA-Z0-9-]+$"},
        "name": {
            "type": "object",
            "required": ["value"],
            "properties": {
                "value": {"type": "string", "minLength": 1, "maxLength": 1500},
                "i18n": {"type": "string", "maxLength": 300},
            },
        },
        "homeUrl": {"type": "string", "pattern": "^https?://"},
        "logoUrl": {"type": "string", "pattern": "^https?://"},
        "documentationUrl": {"type": "string", "pattern": "^https?://"},
        "actions": {
            "type": "object",
            "required": ["fetchWorkspaces", "searchContainers"],
            "properties": {
                "fetchWorkspaces": _ACTION,
                "searchContainers": _ACTION,
                "onEntityAssociated": _ACTION,
                "onEntityDisassociated": _ACTION,
            },
            "additionalProperties": False,
        },
    },
}

DESCRIPTOR_SCHEMA = {
    "type": "object",
    "required": ["key", "baseUrl", "authentication", "lifecycle"],
    "properties": {
        "key": {"type": "string", "maxLength": 80, "pattern": "^[a-zA-Z0-9-._]+$"},
        "name": {"type": "string", "maxLength": 80},
        "description": {"type": "string", "maxLength": 1400},
        "baseUrl": {"type": "string", "maxLength": 200, "pattern": "^https?://[^/?#]+"},
        "authentication": {
            "type": "object",
            "required": ["type"],
            "properties": {"type": {"enum": ["jwt", "JWT"]}},
        },
        "lifecycle": {
            "type": "object",
            "required": ["installed"],
            "properties": {
                event: {"type": "string", "minLength": 1}
                for event in ("installed", "uninstalled", "enabled", "disabled")
            },
        },
        "scopes": {
            "type": "array",
            "items": {"type": "string", "enum": sorted(contract.IMPLIED_SCOPES)},
        },
        "apiMigrations": {
            "type": "object",
            "required": ["signed-install"],
            "properties": {"signed-install": {"const": True}},
        },
        "modules": {
            "type": "object",
            "properties": {contract.MODULE_KEY: MODULE_SCHEMA},
        },
    },
}


class DescriptorRejected(Exception):
    """Jira would not install this descriptor; ``problems`` lists every reason."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


def check(descriptor: object) -> None:
    """Raise DescriptorRejected unless Jira would accept the descriptor."""
    validator = Draft7Validator(DESCRIPTOR_SCHEMA)
    problems = []
    for error in sorted(validator.iter_errors(descriptor), key=lambda e: list(e.absolute_path)):
        where = ".".join(str(part) for part in error.absolute_path)
        problems.append(f"{where}: {error.message}" if where else error.message)
    if isinstance(descriptor, dict) and "apiMigrations" not in descriptor:
        problems.append("apiMigrations.signed-install must be true (Jira signs installs RS256)")
    if isinstance(descriptor, dict) and isinstance(descriptor.get("scopes"), list):
        upper = [str(scope).upper() for scope in descriptor["scopes"]]
        problems = [p for p in problems if not p.startswith("scopes.")]
        problems += [
            f"scopes: unknown scope {s!r}" for s in upper if s not in contract.IMPLIED_SCOPES
        ]
    if problems:
        raise DescriptorRejected(problems)


def module(descriptor: dict) -> dict | None:
    return (descriptor.get("modules") or {}).get(contract.MODULE_KEY)


def resolve(descriptor: dict, url: str) -> str:
    """An absolute URL for a lifecycle or action URL, which may be relative to ``baseUrl``."""
    base = descriptor["baseUrl"].rstrip("/")
    if urlsplit(url).scheme:
        return url
    return urljoin(base + "/", url.lstrip("/"))


def action_url(descriptor: dict, action: str) -> str | None:
    """The absolute templateUrl of one of the module's actions, if the app declares it."""
    declared = (module(descriptor) or {}).get("actions", {}).get(action)
    return None if declared is None else resolve(descriptor, declared["templateUrl"])
