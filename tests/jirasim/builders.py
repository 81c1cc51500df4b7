"""Builders for the simulator's own tests: descriptors, incidents, reviews, an installed app."""

from __future__ import annotations

import copy

from atlassian_jwt.url_utils import hash_url

from jirasim.testing import AppClient

APP_KEY = "com.example.ops-provider"
API = "/rest/operations/1.0"


def make_descriptor(base_url: str = "http://127.0.0.1:9", **overrides) -> dict:
    """A descriptor Jira accepts; ``overrides`` replace top-level fields (None removes one)."""
    descriptor = {
        "key": APP_KEY,
        "name": "Example Ops Provider",
        "description": "Incidents for Jira",
        "vendor": {"name": "Example", "url": "https://example.com"},
        "baseUrl": base_url,
        "authentication": {"type": "jwt"},
        "apiVersion": 1,
        "lifecycle": {"installed": "/connect/installed", "uninstalled": "/connect/uninstalled"},
        "scopes": ["READ", "WRITE", "DELETE"],
        "apiMigrations": {"signed-install": True, "context-qsh": True, "gdpr": True},
        "modules": {
            "jiraOperationsInfoProvider": {
                "key": "ops-provider",
                "name": {"value": "Example Ops"},
                "homeUrl": base_url,
                "actions": {
                    "fetchWorkspaces": {"templateUrl": f"{base_url}/actions/fetchWorkspaces"},
                    "searchContainers": {"templateUrl": f"{base_url}/actions/searchContainers"},
                    "onEntityAssociated": {"templateUrl": "/actions/onEntityAssociated"},
                    "onEntityDisassociated": {"templateUrl": "/actions/onEntityDisassociated"},
                },
            }
        },
    }
    for key, value in overrides.items():
        if value is None:
            descriptor.pop(key, None)
        else:
            descriptor[key] = value
    return descriptor


def make_incident(**overrides) -> dict:
    incident = {
        "schemaVersion": "1.0",
        "id": "INC-1",
        "updateSequenceNumber": 1,
        "summary": "Checkout is down",
        "affectedComponents": ["svc-checkout"],
        "description": "Customers cannot pay.",
        "url": "https://ops.example.com/incidents/INC-1",
        "createdDate": "2026-11-20T10:00:00Z",
        "lastUpdated": "2026-11-20T10:05:00.123+01:00",
        "status": "open",
        "severity": {"level": "P1"},
        "associations": [{"associationType": "issueIdOrKeys", "values": ["OPS-12"]}],
    }
    return _override(incident, overrides)


def make_review(**overrides) -> dict:
    review = {
        "schemaVersion": "1.0",
        "id": "PIR-1",
        "updateSequenceNumber": 1,
        "summary": "PIR: checkout outage",
        "reviews": ["INC-1"],
        "description": "What happened and why.",
        "url": "https://ops.example.com/reviews/PIR-1",
        "createdDate": "2026-11-21T09:00:00Z",
        "lastUpdated": "2026-11-21T09:30:00Z",
        "status": "in progress",
    }
    return _override(review, overrides)


def _override(entity: dict, overrides: dict) -> dict:
    entity = copy.deepcopy(entity)
    for key, value in overrides.items():
        if value is None:
            entity.pop(key, None)
        else:
            entity[key] = value
    return entity


def install(simulator, descriptor: dict | None = None, *, site: str = "default"):
    """Record an installation without a callback and return an app client for it."""
    result = simulator.install_descriptor(descriptor or make_descriptor(), site=site, notify=False)
    return AppClient(simulator, result.installation, site=site, hasher=hash_url)
