"""The read-only page at / lists each site as Jira's Incidents page would, escaped."""

import requests

from tests.jirasim.builders import API, make_incident, make_review


def page(sim) -> str:
    response = requests.get(sim.url + "/", timeout=5)
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/html")
    return response.text


def test_page_lists_incidents_with_severity_status_components_and_links(sim, app):
    app.post(f"{API}/linkedWorkspaces/bulk", json={"workspaceIds": ["ws-payments"]})
    app.post(f"{API}/bulk", json={"incidents": [make_incident()], "reviews": [make_review()]})
    html = page(sim)
    assert "Example Ops Provider" in html
    assert "ws-payments" in html
    assert '<a href="https://ops.example.com/incidents/INC-1">Checkout is down</a>' in html
    for text in ("P1", "open", "svc-checkout", "OPS-12", "2026-11-20T10:05:00.123+01:00"):
        assert text in html
    assert "PIR: checkout outage" in html
    assert "in progress" in html
    assert "Checkout is down (INC-1)" in html


def test_page_shows_projects_connected_through_associations(sim, app):
    sim.site().app_data("com.example.ops-provider").associations["svc-checkout"] = {
        "10042": {"user": None, "at": 0}
    }
    app.post(f"{API}/bulk", json={"incidents": [make_incident()]})
    assert "10042" in page(sim)


def test_page_escapes_everything_and_links_only_to_http(sim, app):
    hostile = make_incident(
        summary="<script>alert(1)</script>", url="javascript:alert(1)", affectedComponents=['"><b>']
    )
    app.post(f"{API}/bulk", json={"incidents": [hostile]})
    html = page(sim)
    assert "<script>alert(1)" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert 'href="javascript:' not in html
    assert '"><b>' not in html


def test_review_of_an_incident_jira_does_not_have_says_so(sim, app):
    app.post(f"{API}/bulk", json={"reviews": [make_review(reviews=["INC-404"])]})
    assert "INC-404 <span class='muted'>(not in Jira)</span>" in page(sim)


def test_each_site_has_its_own_section(sim, app):
    sim.create_site("second")
    html = page(sim)
    assert "Site default" in html and "Site second" in html
    assert f"{sim.url}/site/second" in html
