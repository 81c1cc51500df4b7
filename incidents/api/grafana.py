"""Grafana alerting's webhook contact point body
(https://grafana.com/docs/grafana/latest/alerting/configure-notifications/manage-contact-points/integrations/webhook-notifier/)
→ an `AlertNotification`: Alertmanager's body with `orgId`, `title`, `state`, `message`, and
per-alert `dashboardURL`, `panelURL`, `silenceURL`, `values`, `valueString`."""

from __future__ import annotations

from typing import Any

from incidents.api.alertmanager import parse_group
from incidents.api.alerts import AlertNotification
from incidents.api.shapes import as_object, field
from incidents.models import Integration


def parse(integration: Integration, body: Any) -> AlertNotification:
    """A Grafana notification; a 400 naming the field if the body is not one."""
    body = as_object(body, "body")
    field(body, "orgId", int)
    field(body, "state", str)
    title = field(body, "title", str, default="")
    message = field(body, "message", str, default="")
    return parse_group(integration, body, title=title, message=message)
