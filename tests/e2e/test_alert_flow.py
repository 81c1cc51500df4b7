"""An Alertmanager notification posted over real HTTP to the running portal becomes a P1
incident on jirasim's Incidents page with its component, and its resolution follows.

Everything runs as in production (`manage.py demo`): the portal and the sync worker are separate
processes on a SQLite file, and jirasim answers over HTTP with the portal installed into it.
"""

from __future__ import annotations

import json
import re
from html import unescape
from pathlib import Path

import pytest
import requests

from .support import wait_for

pytestmark = pytest.mark.slow

BODIES = Path(__file__).parent.parent / "api" / "bodies"
SYNC_SECONDS = 45


def notification(name: str) -> dict:
    payload = json.loads((BODIES / f"{name}.json").read_text())
    payload["groupKey"] = '{}:{alertname="LedgerWriteLatency"}'
    payload["commonAnnotations"]["summary"] = "Ledger write latency above 2 s"
    for labels in (payload["commonLabels"], *(a["labels"] for a in payload["alerts"])):
        labels["service"] = "Ledger"  # the demo container payments/ledger, matched by name
    return payload


def jira_row(jirasim_url: str, incident_id: str) -> dict | None:
    """The incident's row on jirasim's Incidents page (`/`), as text cells; None if absent."""
    page = requests.get(jirasim_url + "/", timeout=5).text
    for row in re.findall(r"<tr>(.*?)</tr>", page, flags=re.S):
        cells = [
            unescape(re.sub(r"<[^>]+>", " ", cell)).split()
            for cell in re.findall(r"<td>(.*?)</td>", row, flags=re.S)
        ]
        if cells and incident_id in cells[0]:
            return {
                "summary": " ".join(cells[0]),
                "severity": " ".join(cells[1]),
                "status": " ".join(cells[2]).lower(),
                "components": " ".join(cells[3]),
            }
    return None


def test_alertmanager_notification_reaches_jira_as_p1_and_resolves(demo):
    output = demo.manage(
        "create_integration",
        "--workspace",
        "payments-platform",
        "--name",
        "prometheus",
        "--kind",
        "alertmanager",
    )
    token = output.rstrip("\n").splitlines()[-1]
    hook = f"{demo.config.portal_url}/api/v1/hooks/alertmanager/"
    headers = {"Authorization": f"Bearer {token}"}

    firing = notification("alertmanager_firing")
    fired = requests.post(hook, json=firing, headers=headers, timeout=10)
    assert fired.status_code == 202, fired.text
    (incident_id,) = fired.json()["incidents"]

    raised = wait_for(
        lambda: jira_row(demo.config.jirasim_url, incident_id),
        timeout=SYNC_SECONDS,
        message=f"{incident_id} never reached jirasim's page",
    )
    assert "Ledger write latency above 2 s" in raised["summary"]
    assert raised["severity"] == "P1"
    assert raised["status"] == "open"
    assert "payments/ledger" in raised["components"]
    assert demo.jira_incidents()[incident_id]["affectedComponents"] == ["payments/ledger"]

    resolved = requests.post(
        hook, json=notification("alertmanager_resolved"), headers=headers, timeout=10
    )
    assert (resolved.status_code, resolved.json()) == (202, {"incidents": [incident_id]})
    wait_for(
        lambda: (jira_row(demo.config.jirasim_url, incident_id) or {}).get("status") == "resolved",
        timeout=SYNC_SECONDS,
        message=f"{incident_id} never read resolved on jirasim's page",
    )
