"""The read-only page at ``/``: each simulated site as Jira's Incidents page would list it.

Server-rendered, every value escaped, links only to http(s) URLs; reload to refresh.
"""

from __future__ import annotations

from datetime import UTC, datetime
from html import escape
from typing import TYPE_CHECKING

from jirasim.state import AppData, Site

if TYPE_CHECKING:
    from jirasim.simulator import Simulator

STYLE = """
body{font:14px/1.4 system-ui,sans-serif;margin:2rem;color:#172b4d}
h1{font-size:1.4rem}h2{font-size:1.2rem;border-bottom:2px solid #dfe1e6;padding-bottom:.2rem}
h3{font-size:1rem;margin-bottom:.3rem}table{border-collapse:collapse;margin:.3rem 0 1rem}
th,td{border:1px solid #dfe1e6;padding:.25rem .5rem;text-align:left;vertical-align:top}
th{background:#f4f5f7}.muted{color:#6b778c}.lozenge{border-radius:3px;padding:0 .3rem;
font-size:12px;font-weight:600;text-transform:uppercase;background:#dfe1e6}
.P1,.open{background:#ffebe6;color:#bf2600}.P2{background:#fffae6;color:#ff8b00}
.resolved,.completed{background:#e3fcef;color:#006644}
"""

#: Jira sorts severities with P1 first; unknown or missing severities last.
# Keyed by whatever an incident holds as its level (None when it has none).
_SEVERITY_ORDER: dict[str | None, int] = {"P1": 0, "P2": 1, "P3": 2, "P4": 3, "P5": 4}


def _link(url: object, text: str) -> str:
    if isinstance(url, str) and url.lower().startswith(("http://", "https://")):
        return f'<a href="{escape(url, quote=True)}">{escape(text)}</a>'
    return escape(text)


def _lozenge(value: object) -> str:
    text = str(value or "unknown")
    css = text if text.isalnum() else text.replace(" ", "-")
    return f'<span class="lozenge {escape(css, quote=True)}">{escape(text)}</span>'


def _when(value: object) -> str:
    return escape(str(value)) if value else '<span class="muted">—</span>'


def _linked_issues(incident: dict) -> list[str]:
    return [
        value
        for association in incident.get("associations") or []
        if association.get("associationType") == "issueIdOrKeys"
        for value in association.get("values") or []
    ]


def _components(app: AppData, incident: dict) -> str:
    names = []
    for component in incident.get("affectedComponents", []):
        name = (app.containers.get(component) or {}).get("name")
        names.append(
            f"{escape(name)} <span class='muted'>({escape(component)})</span>"
            if name
            else escape(component)
        )
    return "<br>".join(names)


def _projects(app: AppData, incident: dict) -> str:
    projects = sorted(
        {p for c in incident.get("affectedComponents", []) for p in app.associations.get(c, {})}
    )
    return escape(", ".join(projects)) or '<span class="muted">none</span>'


def _incidents(app: AppData) -> str:
    incidents = sorted(
        (stored.data for stored in app.incidents.values()),
        key=lambda i: (
            _SEVERITY_ORDER.get((i.get("severity") or {}).get("level"), 9),
            str(i.get("lastUpdated", "")),
        ),
    )
    if not incidents:
        return '<p class="muted">No incidents.</p>'
    rows = "".join(
        "<tr>"
        f"<td>{_link(i.get('url'), i.get('summary') or i['id'])}"
        f"<br><span class='muted'>{escape(i['id'])}</span></td>"
        f"<td>{_lozenge((i.get('severity') or {}).get('level'))}</td>"
        f"<td>{_lozenge(i.get('status'))}</td>"
        f"<td>{_components(app, i)}</td>"
        f"<td>{_projects(app, i)}</td>"
        f"<td>{escape(', '.join(_linked_issues(i))) or '<span class=muted>none</span>'}</td>"
        f"<td>{_when(i.get('lastUpdated'))}</td>"
        f"<td>{escape(str(i.get('updateSequenceNumber')))}</td>"
        "</tr>"
        for i in incidents
    )
    return (
        "<table><tr><th>Incident</th><th>Severity</th><th>Status</th>"
        "<th>Affected components</th><th>Projects</th><th>Linked issues</th>"
        f"<th>Last updated</th><th>Sequence</th></tr>{rows}</table>"
    )


def _reviews(app: AppData) -> str:
    if not app.reviews:
        return '<p class="muted">No post-incident reviews.</p>'
    rows = []
    for stored in sorted(app.reviews.values(), key=lambda s: str(s.data.get("lastUpdated", ""))):
        review = stored.data
        covered = []
        for incident_id in review.get("reviews", []):
            incident = app.incidents.get(incident_id)
            covered.append(
                escape(f"{incident.data.get('summary')} ({incident_id})")
                if incident
                else f"{escape(incident_id)} <span class='muted'>(not in Jira)</span>"
            )
        rows.append(
            "<tr>"
            f"<td>{_link(review.get('url'), review.get('summary') or review['id'])}</td>"
            f"<td>{_lozenge(review.get('status'))}</td>"
            f"<td>{'<br>'.join(covered)}</td>"
            f"<td>{_when(review.get('lastUpdated'))}</td>"
            f"<td>{escape(str(review.get('updateSequenceNumber')))}</td>"
            "</tr>"
        )
    return (
        "<table><tr><th>Review</th><th>Status</th><th>Incidents reviewed</th>"
        f"<th>Last updated</th><th>Sequence</th></tr>{''.join(rows)}</table>"
    )


def _app(site: Site, app_key: str, app: AppData) -> str:
    installation = site.installations.get(app_key)
    title = escape(installation.name if installation else app_key)
    workspaces = ", ".join(
        escape((app.workspace_details.get(w) or {}).get("name") or w) for w in app.workspaces
    )
    return (
        f"<h3>{title} <span class='muted'>({escape(app_key)})</span></h3>"
        f"<p>Linked workspaces: {workspaces or '<span class=muted>none</span>'}</p>"
        f"{_incidents(app)}{_reviews(app)}"
    )


def _site(sim: Simulator, site: Site) -> str:
    installed = "".join(
        f"<tr><td>{escape(i.name)}</td><td>{escape(i.app_key)}</td>"
        f"<td>{escape(', '.join(sorted(i.scopes)))}</td>"
        f"<td>{'yes' if i.has_operations_module else 'no'}</td>"
        f"<td>{escape(datetime.fromtimestamp(i.installed_at, UTC).isoformat(timespec='seconds'))}"
        f"{' (pending)' if i.pending else ''}</td></tr>"
        for i in site.installations.values()
    )
    apps = "".join(_app(site, key, data) for key, data in site.data.items())
    return (
        f"<h2>Site {escape(site.name)}</h2>"
        f"<p class='muted'>baseUrl {escape(sim.site_base_url(site))} · clientKey "
        f"{escape(site.client_key)} · cloudId {escape(site.cloud_id)}</p>"
        + (
            "<table><tr><th>Installed app</th><th>Key</th><th>Scopes</th>"
            f"<th>Operations module</th><th>Installed</th></tr>{installed}</table>"
            if installed
            else "<p class='muted'>No app installed.</p>"
        )
        + apps
    )


def render(sim: Simulator) -> str:
    with sim.lock:
        body = "".join(_site(sim, site) for site in sim.sites.values())
    return (
        "<!doctype html><html><head><meta charset='utf-8'><title>jirasim</title>"
        f"<style>{STYLE}</style></head><body><h1>jirasim: simulated Jira Cloud</h1>"
        f"<p class='muted'>Install keys: {escape(sim.install_keys_url)} · "
        "control API under /_sim/ · reload to refresh</p>"
        f"{body}</body></html>"
    )
