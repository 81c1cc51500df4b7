"""Prometheus Alertmanager's webhook body (version "4",
https://prometheus.io/docs/alerting/latest/configuration/#webhook_config) → an
`AlertNotification`. Grafana's body extends it (`incidents.api.grafana`)."""

from __future__ import annotations

from typing import Any

from incidents.api.alerts import AlertNotification, highest_severity
from incidents.api.shapes import as_object, field, one_of, refuse, string_map
from incidents.models import Integration

VERSION = "4"
STATUSES = ("firing", "resolved")


def parse(integration: Integration, body: Any) -> AlertNotification:
    """An Alertmanager notification; a 400 naming the field if the body is not one."""
    body = as_object(body, "body")
    version = field(body, "version", str, required=True)
    if version != VERSION:
        raise refuse("version", f"Alertmanager's webhook version {VERSION!r} is expected.")
    return parse_group(integration, body)


def parse_group(
    integration: Integration, body: dict[str, Any], *, title: str = "", message: str = ""
) -> AlertNotification:
    """The fields Alertmanager and Grafana share: groupKey, status, labels, alerts."""
    group_key = field(body, "groupKey", str, required=True)
    if not group_key.strip():
        raise refuse("groupKey", "This field may not be blank.")
    status = one_of(field(body, "status", str, required=True), STATUSES, "status")
    common_labels = string_map(body, "commonLabels")
    common_annotations = string_map(body, "commonAnnotations")
    string_map(body, "groupLabels")
    field(body, "externalURL", str)
    alerts = [
        _alert(item, f"alerts.{n}")
        for n, item in enumerate(field(body, "alerts", list, required=True))
    ]
    firing = [a for a in alerts if a["status"] != "resolved"] if status == "firing" else []
    label = integration.container_label
    services = [a["labels"][label] for a in firing if a["labels"].get(label)]
    if common_labels.get(label) and status == "firing":
        services.insert(0, common_labels[label])
    return AlertNotification(
        group_key=group_key,
        firing=status == "firing",
        summary=_summary(common_annotations, common_labels, alerts, title),
        severity=highest_severity(
            [integration.map_severity(a["labels"].get("severity")) for a in firing]
        ),
        container_names=tuple(services),
        description=message or _description(common_annotations, firing or alerts),
        resolved_note=_resolved_note(alerts),
    )


def _alert(item: Any, path: str) -> dict[str, Any]:
    alert = as_object(item, path)
    status = field(alert, "status", str, path=path, default="firing")
    one_of(status, STATUSES, f"{path}.status")
    for name in ("startsAt", "endsAt", "generatorURL", "fingerprint"):
        field(alert, name, str, path=path)
    return {
        "status": status,
        "labels": string_map(alert, "labels", path=path),
        "annotations": string_map(alert, "annotations", path=path),
        "links": {
            name: alert[name]
            for name in ("generatorURL", "dashboardURL", "panelURL")
            if isinstance(alert.get(name), str) and alert[name].startswith(("http://", "https://"))
        },
    }


def _summary(
    annotations: dict[str, str], labels: dict[str, str], alerts: list[dict], title: str
) -> str:
    if annotations.get("summary", "").strip():
        return annotations["summary"].strip()
    if labels.get("alertname", "").strip():
        return labels["alertname"].strip()
    names = [a["labels"].get("alertname", "").strip() for a in alerts]
    if names and names[0]:
        more = len(alerts) - 1
        return names[0] + (f" (+{more} more)" if more else "")
    return title.strip() or "Alert"


def _description(annotations: dict[str, str], alerts: list[dict]) -> str:
    """Markdown: the group's description, then one line per alert with its links."""
    lines = []
    if annotations.get("description"):
        lines += [annotations["description"], ""]
    for alert in alerts:
        labels, notes = alert["labels"], alert["annotations"]
        name = labels.get("alertname", "alert")
        text = notes.get("summary") or notes.get("description") or ""
        severity = f" ({labels['severity']})" if labels.get("severity") else ""
        links = " ".join(f"[{label}]({url})" for label, url in alert["links"].items())
        lines.append(f"- **{name}**{severity}{': ' + text if text else ''} {links}".rstrip())
    return "\n".join(lines).strip()


def _resolved_note(alerts: list[dict]) -> str:
    names = sorted({a["labels"].get("alertname", "") for a in alerts} - {""})
    return "All alerts of the group resolved" + (f": {', '.join(names)}." if names else ".")
