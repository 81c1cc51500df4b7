"""Workspaces, containers and integrations for the API and webhook tests, and a client that
sends the integration's bearer token."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from incidents.models import Container, Integration, Workspace

#: Webhook bodies: `grafana_firing.json` is the example body of Grafana's webhook notifier page
#: (https://grafana.com/docs/grafana/latest/alerting/configure-notifications/manage-contact-points/integrations/webhook-notifier/);
#: `alertmanager_firing.json` fills in the version 4 body of Alertmanager's webhook_config
#: (https://prometheus.io/docs/alerting/latest/configuration/#webhook_config), which gives its
#: fields but no example. The `_resolved` bodies are the same groups once resolved.
BODIES = Path(__file__).parent / "bodies"


def body(name: str) -> dict:
    """A webhook body from `bodies/` (a fresh copy each time, so tests may change it)."""
    return copy.deepcopy(json.loads((BODIES / f"{name}.json").read_text()))


def make_integration(workspace: Workspace, name: str = "prom", **fields) -> tuple[Integration, str]:
    integration = Integration(workspace=workspace, name=name, **fields)
    token = integration.set_new_token()
    integration.save()
    return integration, token


class TokenClient:
    """Django's test client with `Authorization: Bearer <token>` on every call."""

    def __init__(self, client, token: str | None):
        self.client, self.token = client, token

    def _headers(self, headers: dict | None) -> dict:
        sent = dict(headers or {})
        if self.token is not None:
            sent.setdefault("Authorization", f"Bearer {self.token}")
        return sent

    def get(self, path: str, data=None, headers=None):
        return self.client.get(path, data, headers=self._headers(headers))

    def post(self, path: str, payload=None, headers=None, content_type="application/json"):
        data = payload if isinstance(payload, str | bytes) else json.dumps(payload)
        return self.client.post(
            path, data, content_type=content_type, headers=self._headers(headers)
        )

    def patch(self, path: str, payload, headers=None):
        return self.client.patch(
            path,
            json.dumps(payload),
            content_type="application/json",
            headers=self._headers(headers),
        )

    def generic(self, method: str, path: str, payload=b"", headers=None, content_type=None):
        return self.client.generic(
            method,
            path,
            payload,
            content_type=content_type or "application/json",
            headers=self._headers(headers),
        )


@pytest.fixture(autouse=True)
def api_settings(settings):
    settings.CONNECT_BASE_URL = "https://ops.example.com"
    return settings


@pytest.fixture
def workspace(db) -> Workspace:
    return Workspace.objects.create(
        external_id="payments", name="Payments", url="https://ops.example.com/payments"
    )


@pytest.fixture
def other_workspace(db) -> Workspace:
    return Workspace.objects.create(
        external_id="search", name="Search", url="https://ops.example.com/search"
    )


@pytest.fixture
def containers(workspace, other_workspace) -> dict[str, Container]:
    def make(ws, external_id, name):
        return Container.objects.create(
            workspace=ws, external_id=external_id, name=name, url=f"{ws.url}/{external_id}"
        )

    return {
        "payments-api": make(workspace, "payments-api", "Payments API"),
        "payments/ledger": make(workspace, "payments/ledger", "Ledger"),
        "search-index": make(other_workspace, "search-index", "Search index"),
    }


@pytest.fixture
def integration(workspace):
    return make_integration(workspace, "prom", kind=Integration.Kind.ALERTMANAGER)


@pytest.fixture
def api(client, integration) -> TokenClient:
    return TokenClient(client, integration[1])


@pytest.fixture
def other_api(client, other_workspace) -> TokenClient:
    return TokenClient(client, make_integration(other_workspace, "theirs")[1])
