"""jirasim installs the running portal over real HTTP, and each side then trusts the other."""

import time

import jwt
import pytest
import requests

from connect.client import JiraClient
from connect.models import Installation
from incidents.sync.payloads import incident_to_jira
from jirasim.qsh import url_hash
from jirasim.testing import run_jirasim
from tests.incidents.factories import make_container, make_incident, make_workspace
from tests.sync.conftest import drain

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def sim_and_portal(live_server, settings):
    with run_jirasim() as sim:
        settings.CONNECT_BASE_URL = live_server.url
        settings.CONNECT_INSTALL_KEYS_URL = sim.install_keys_url
        settings.CONNECT_ALLOWED_SITE_HOSTS = ["127.0.0.1"]
        yield sim, live_server


def test_signed_install_client_submit_and_action_call_round_trip(sim_and_portal):
    sim, portal = sim_and_portal
    result = sim.install(portal.url + "/atlassian-connect.json")
    assert result.ok, result.message
    installation = Installation.objects.get()
    assert installation.client_key == sim.installation().client_key
    assert installation.is_active

    workspace = make_workspace()
    container = make_container(workspace, name="Payments API")
    incident = make_incident(workspace, containers=[container])
    workspace.link_site(installation)

    client = JiraClient(installation)
    client.submit_workspaces([workspace.external_id])
    client.submit_entities(
        incidents=[incident_to_jira(incident)], properties={"workspaceId": workspace.external_id}
    )
    assert sim.incidents()[incident.external_id]["summary"] == incident.summary
    assert sim.workspaces() == [workspace.external_id]

    fetched = sim.fetch_workspaces([workspace.external_id, "not-a-workspace"])
    assert fetched.ok, fetched.problems
    assert [w["id"] for w in fetched.data["workspaces"]] == [workspace.external_id]
    searched = sim.search_containers("payments")
    assert searched.ok, searched.problems
    assert [c["id"] for c in searched.data["containers"]] == [container.external_id]
    assert not [name for name in sim.counters if name.startswith("jwt-rejected")]


def test_an_uninstall_from_jirasim_stops_the_portal_trusting_the_site(sim_and_portal):
    sim, portal = sim_and_portal
    assert sim.install(portal.url + "/atlassian-connect.json").ok
    remote = sim.installation()
    assert sim.uninstall().ok
    installation = Installation.objects.get()
    assert installation.state == Installation.State.UNINSTALLED

    now = int(time.time())
    path = "/jira/operations/containers/search"
    token = jwt.encode(
        {"iss": remote.client_key, "iat": now, "exp": now + 60, "qsh": url_hash("GET", path)},
        remote.shared_secret,
        algorithm="HS256",
    )
    response = requests.get(portal.url + path, headers={"Authorization": f"JWT {token}"})
    assert response.status_code == 401
    assert response.json()["error"] == "inactive_installation"


def test_a_reinstalled_site_gets_its_whole_history_again(sim_and_portal):
    sim, portal = sim_and_portal
    descriptor_url = portal.url + "/atlassian-connect.json"
    assert sim.install(descriptor_url).ok
    installation = Installation.objects.get()
    workspace = make_workspace()
    incidents = [make_incident(workspace) for _ in range(3)]
    workspace.link_site(installation)
    drain()
    assert set(sim.incidents()) == {i.external_id for i in incidents}

    assert sim.uninstall().ok  # Jira deletes the app's data on uninstall
    # Lifecycle tokens carry no unique id: one signed in the same second with the same claims
    # would be refused as a replay (docs/connect.md), so re-install a second later.
    time.sleep(1.1)
    assert sim.install(descriptor_url).ok
    assert sim.incidents() == {}
    drain()
    assert set(sim.incidents()) == {i.external_id for i in incidents}
    assert sim.workspaces() == [workspace.external_id]
