"""The control API under /_sim/: state, sites, log, installations, reset; never a secret."""

import json

import requests

from tests.jirasim.builders import API, install, make_incident
from tests.jirasim.fakeapp import FakeApp


def control(sim, method, path, **kwargs):
    return requests.request(method, f"{sim.url}/_sim/{path}", timeout=10, **kwargs)


def test_health(sim):
    assert control(sim, "GET", "health").json() == {"ok": True, "url": sim.url}


def test_state_shows_sites_installations_and_entities(sim, app):
    app.post(f"{API}/bulk", json={"incidents": [make_incident()], "properties": {"a": "1"}})
    state = control(sim, "GET", "state").json()
    [site] = state["sites"]
    assert site["baseUrl"] == sim.url
    assert site["installations"][0]["appKey"] == "com.example.ops-provider"
    stored = site["apps"]["com.example.ops-provider"]["incidents"]["INC-1"]
    assert stored["data"] == make_incident()
    assert stored["properties"] == {"a": "1"}
    assert state["installKeysUrl"] == f"{sim.url}/_sim/install-keys"


def test_sites_are_created_with_their_own_base_url(sim):
    response = control(sim, "POST", "sites", json={"name": "acme", "projects": {"OPS": "1"}})
    assert response.status_code == 201
    created = response.json()
    assert created["baseUrl"] == f"{sim.url}/site/acme"
    assert created["clientKey"] != sim.site().client_key
    assert control(sim, "GET", "sites/acme").json()["projects"] == {"OPS": "1"}
    assert control(sim, "POST", "sites", json={"name": "acme"}).status_code == 409
    assert control(sim, "POST", "sites", json={"name": "Bad Name"}).status_code == 400
    assert control(sim, "GET", "sites/nope").status_code == 404


def test_log_records_method_path_status_entities_and_app(sim, app):
    app.post(f"{API}/bulk", json={"incidents": [make_incident(), make_incident(id="INC-2")]})
    app.get(f"{API}/incidents/INC-1", qsh="0" * 64)
    entries = control(sim, "GET", "log").json()["entries"]
    assert [(e["method"], e["status"]) for e in entries] == [("POST", 202), ("GET", 401)]
    assert entries[0]["entities"] == 2
    assert entries[0]["app"] == "com.example.ops-provider"
    assert entries[0]["path"] == f"{API}/bulk"
    assert "qsh" in entries[1]["note"]
    since = control(sim, "GET", "log", params={"since": entries[0]["id"]}).json()["entries"]
    assert [e["id"] for e in since] == [entries[1]["id"]]


def test_no_secret_or_token_ever_appears_in_the_control_api(sim):
    with FakeApp(keys_url=sim.install_keys_url) as fake:
        control(sim, "POST", "install", json={"descriptorUrl": fake.descriptor_url})
        secret = sim.installation().shared_secret
        app = install(sim)
        app.get(f"{API}/linkedWorkspaces", params={"jwt": "a-query-token"})
        control(sim, "POST", "actions/fetch-workspaces", json={"ids": ["x"]})
        pages = [control(sim, "GET", path).text for path in ("state", "log", "installations")]
        pages.append(requests.get(sim.url, timeout=5).text)
    for text in pages:
        assert secret not in text
        assert app.installation.shared_secret not in text
        assert "a-query-token" not in text


def test_installations_are_listed_per_site(sim):
    sim.create_site("b")
    install(sim)
    install(sim, site="b")
    listed = control(sim, "GET", "installations").json()
    assert sorted(item["site"] for item in listed) == ["b", "default"]
    assert all("sharedSecret" not in json.dumps(item) for item in listed)


def test_install_and_actions_through_the_control_api(sim):
    with FakeApp(keys_url=sim.install_keys_url) as fake:
        fake.replies["/actions/searchContainers"] = {"containers": [{"id": "c1", "name": "C"}]}
        installed = control(sim, "POST", "install", json={"descriptorUrl": fake.descriptor_url})
        assert installed.status_code == 200 and installed.json()["ok"]
        found = control(sim, "POST", "actions/search-containers", json={"query": "c"})
        assert found.json()["data"]["containers"][0]["id"] == "c1"
        linked = control(
            sim, "POST", "actions/associate", json={"containerId": "c1", "projectId": "10000"}
        )
        assert linked.status_code == 200
        gone = control(sim, "POST", "uninstall", json={})
        assert gone.json()["callbackStatus"] == 204
    assert all(call.verified for call in fake.calls)


def test_failed_install_through_the_control_api_is_502_with_the_reason(sim):
    with FakeApp(keys_url=sim.install_keys_url) as fake:
        fake.statuses["/connect/installed"] = 500
        response = control(sim, "POST", "install", json={"descriptorUrl": fake.descriptor_url})
    assert response.status_code == 502
    assert response.json()["callbackStatus"] == 500


def test_control_requests_with_bad_input_get_a_clear_4xx(sim):
    assert control(sim, "POST", "install", data="{").status_code == 400
    assert control(sim, "POST", "install", json={}).status_code == 400
    assert control(sim, "POST", "uninstall", json={}).status_code == 404
    assert control(sim, "POST", "actions/fetch-workspaces", json={"ids": "x"}).status_code == 400
    assert control(sim, "GET", "log", params={"limit": "many"}).status_code == 400
    assert control(sim, "GET", "nothing-here").status_code == 404
    assert control(sim, "DELETE", "state").status_code == 405


def test_reset_forgets_data_installations_and_extra_sites(sim, app):
    client_key = sim.site().client_key
    sim.create_site("b")
    app.post(f"{API}/bulk", json={"incidents": [make_incident()]})
    assert control(sim, "POST", "reset").status_code == 200
    state = control(sim, "GET", "state").json()
    assert [site["name"] for site in state["sites"]] == ["default"]
    assert state["sites"][0]["installations"] == []
    assert state["sites"][0]["clientKey"] == client_key
    assert control(sim, "GET", "log").json()["entries"] == []


def test_reset_of_data_only_keeps_installations(sim, app):
    app.post(f"{API}/bulk", json={"incidents": [make_incident()]})
    control(sim, "POST", "reset", json={"data_only": True})
    assert sim.incidents() == {}
    assert app.get(f"{API}/linkedWorkspaces").status_code == 200


def test_unknown_paths_outside_the_api_are_404(sim):
    assert requests.get(f"{sim.url}/rest/api/3/issue/1", timeout=5).status_code == 404
    assert (
        requests.get(f"{sim.url}/site/nope/rest/operations/1.0/bulk", timeout=5).status_code == 404
    )
    assert requests.put(f"{sim.url}{API}/bulk", timeout=5).status_code == 405


def test_a_chunked_body_is_refused_with_411(sim, app):
    response = requests.post(f"{sim.url}{API}/bulk", data=iter([b'{"incidents": []}']), timeout=5)
    assert response.status_code == 411
