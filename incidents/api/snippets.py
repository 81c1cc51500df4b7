"""The settings staff copy into Alertmanager and Grafana for an integration (docs/api.md).

The token is never stored in clear, so the snippets carry a placeholder for it.
"""

from __future__ import annotations

from django.urls import reverse

from connect.descriptor import absolute_url
from incidents.models import Integration

TOKEN_PLACEHOLDER = "<token shown when the integration was created>"  # noqa: S105


def webhook_url(kind: str) -> str:
    name: str = {
        Integration.Kind.ALERTMANAGER: "api-hook-alertmanager",
        Integration.Kind.GRAFANA: "api-hook-grafana",
        Integration.Kind.GENERIC: "api-hook-generic",
    }.get(Integration.Kind(kind), "api-incidents")
    return absolute_url(reverse(name))


def alertmanager_receiver(integration: Integration, token: str = TOKEN_PLACEHOLDER) -> str:
    """A `receivers:` entry for alertmanager.yml (route alerts to it by `receiver:` name)."""
    return (
        "receivers:\n"
        f"  - name: ops-portal-{integration.name}\n"
        "    webhook_configs:\n"
        f"      - url: {webhook_url(Integration.Kind.ALERTMANAGER)}\n"
        "        send_resolved: true\n"
        "        http_config:\n"
        "          authorization:\n"
        "            type: Bearer\n"
        f"            credentials: {token}\n"
    )


def grafana_contact_point(integration: Integration, token: str = TOKEN_PLACEHOLDER) -> str:
    """The fields of a Grafana contact point of type Webhook."""
    return (
        f"Name: Ops Portal ({integration.name})\n"
        "Integration: Webhook\n"
        f"URL: {webhook_url(Integration.Kind.GRAFANA)}\n"
        "HTTP Method: POST\n"
        "Optional Webhook settings → Authorization Header - Scheme: Bearer\n"
        f"Optional Webhook settings → Authorization Header - Credentials: {token}\n"
        "Notification settings → Disable resolved message: off\n"
    )


def curl_example(integration: Integration, token: str = TOKEN_PLACEHOLDER) -> str:
    """A curl that opens an incident through the REST API."""
    return (
        f"curl -X POST {webhook_url(Integration.Kind.API)} \\\n"
        f"  -H 'Authorization: Bearer {token}' \\\n"
        "  -H 'Content-Type: application/json' \\\n"
        '  -d \'{"summary": "Checkout errors above 5%", "severity": "P2"}\'\n'
    )
