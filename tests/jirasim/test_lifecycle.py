"""Installing and uninstalling a real (tiny) app over HTTP, with RS256-signed callbacks."""

import pytest
import requests

from jirasim import SimulatorError
from jirasim.testing import AppClient
from tests.jirasim.builders import API, make_incident
from tests.jirasim.fakeapp import FakeApp


@pytest.fixture
def fake_app(sim):
    with FakeApp(keys_url=sim.install_keys_url) as app:
        yield app


def test_install_sends_a_verifiable_signed_installed_callback(sim, fake_app):
    result = sim.install(fake_app.descriptor_url)
    assert result.ok, result.message
    [call] = fake_app.calls_to("/installed")
    assert call.verified, call.error
    assert call.claims["aud"] == fake_app.base_url
    assert call.claims["exp"] - call.claims["iat"] <= 180


def test_installed_payload_has_every_field_an_app_needs(sim, fake_app):
    sim.install(fake_app.descriptor_url)
    payload = fake_app.installed
    site = sim.site()
    assert payload["key"] == "com.example.ops-provider"
    assert payload["clientKey"] == site.client_key
    assert payload["sharedSecret"] == sim.installation().shared_secret
    assert payload["baseUrl"] == payload["displayUrl"] == sim.url
    assert payload["productType"] == "jira"
    assert payload["eventType"] == "installed"
    assert payload["cloudId"] == site.cloud_id
    assert payload["installationId"].startswith("ari:cloud:ecosystem::installation/")
    for field in ("serverVersion", "pluginsVersion", "description"):
        assert isinstance(payload[field], str) and payload[field]


def test_the_install_key_is_served_by_kid(sim):
    response = requests.get(f"{sim.install_keys_url}/{sim.install_key.kid}", timeout=5)
    assert response.status_code == 200
    assert response.text.startswith("-----BEGIN PUBLIC KEY-----")
    assert requests.get(f"{sim.install_keys_url}/unknown-kid", timeout=5).status_code == 404


def test_the_installed_app_can_use_the_rest_api_with_the_secret_it_received(sim, fake_app):
    sim.install(fake_app.descriptor_url)
    client = AppClient(sim, sim.installation())
    assert client.installation.shared_secret == fake_app.installed["sharedSecret"]
    assert client.post(f"{API}/bulk", json={"incidents": [make_incident()]}).status_code == 202


@pytest.mark.parametrize("status", [200, 204])
def test_install_succeeds_on_200_and_204(sim, fake_app, status):
    fake_app.statuses["/connect/installed"] = status
    assert sim.install(fake_app.descriptor_url).ok


@pytest.mark.parametrize("status", [201, 401, 500])
def test_install_fails_unless_the_app_answers_200_or_204(sim, fake_app, status):
    fake_app.statuses["/connect/installed"] = status
    result = sim.install(fake_app.descriptor_url)
    assert not result.ok
    assert result.status == status
    assert sim.site().installations == {}


def test_failed_reinstall_keeps_the_previous_installation(sim, fake_app):
    sim.install(fake_app.descriptor_url)
    secret = sim.installation().shared_secret
    fake_app.statuses["/connect/installed"] = 500
    assert not sim.install(fake_app.descriptor_url).ok
    assert sim.installation().shared_secret == secret


def test_reinstall_issues_a_new_secret_and_the_old_one_stops_working(sim, fake_app):
    sim.install(fake_app.descriptor_url)
    old = AppClient(sim, sim.installation())
    old.post(f"{API}/bulk", json={"incidents": [make_incident()]})
    sim.install(fake_app.descriptor_url)
    new = AppClient(sim, sim.installation())
    assert new.installation.shared_secret != old.installation.shared_secret
    assert old.get(f"{API}/incidents/INC-1").status_code == 401
    assert new.get(f"{API}/incidents/INC-1").status_code == 200


def test_app_may_call_jira_while_handling_installed(sim, fake_app):
    answers = []

    def link_workspaces(payload):
        client = AppClient(sim, sim.site().installations[payload["key"]])
        answers.append(client.post(f"{API}/linkedWorkspaces/bulk", json={"workspaceIds": ["w"]}))

    fake_app.on_installed = link_workspaces
    assert sim.install(fake_app.descriptor_url).ok
    assert answers[0].status_code == 202
    assert sim.workspaces() == ["w"]


def test_install_into_a_named_site_uses_its_base_url_and_client_key(sim, fake_app):
    site = sim.create_site("second")
    sim.install(fake_app.descriptor_url)
    default_secret = fake_app.installed["sharedSecret"]
    assert sim.install(fake_app.descriptor_url, site="second").ok
    assert fake_app.installed["baseUrl"] == f"{sim.url}/site/second"
    assert fake_app.installed["clientKey"] == site.client_key != sim.site().client_key
    assert fake_app.installed["sharedSecret"] != default_secret
    assert all(call.verified for call in fake_app.calls)


def test_app_with_a_base_path_gets_a_qsh_relative_to_it(sim):
    with FakeApp(keys_url=sim.install_keys_url, base_path="/portal") as app:
        assert sim.install(app.descriptor_url).ok
        [call] = app.calls_to("/installed")
        assert call.path == "/portal/connect/installed"
        assert call.verified, call.error


def test_rotated_install_key_signs_later_installs_and_old_key_stays_served(sim, fake_app):
    old_kid = sim.install_key.kid
    new_kid = sim.rotate_install_key()
    assert sim.install(fake_app.descriptor_url).ok
    assert fake_app.calls_to("/installed")[0].verified
    for kid in (old_kid, new_kid):
        assert requests.get(f"{sim.install_keys_url}/{kid}", timeout=5).status_code == 200


@pytest.mark.parametrize(
    ("override", "reason"),
    [
        ({"authentication": {"type": "none"}}, "authentication"),
        ({"apiMigrations": {"signed-install": False}}, "signed-install"),
        ({"apiMigrations": None}, "signed-install"),
        ({"lifecycle": {"uninstalled": "/u"}}, "installed"),
        ({"key": "has spaces"}, "key"),
        ({"scopes": ["READ", "EVERYTHING"]}, "EVERYTHING"),
        (
            {"modules": {"jiraOperationsInfoProvider": {"key": "ops", "name": {"value": "O"}}}},
            "homeUrl",
        ),
    ],
)
def test_descriptor_jira_would_refuse_is_not_installed(sim, fake_app, override, reason):
    fake_app.descriptor_overrides.update(override)
    with pytest.raises(SimulatorError, match=reason):
        sim.install(fake_app.descriptor_url)
    assert fake_app.calls == []
    assert sim.site().installations == {}


def test_module_missing_a_required_action_is_refused(sim, fake_app):
    descriptor = fake_app.descriptor
    del descriptor["modules"]["jiraOperationsInfoProvider"]["actions"]["searchContainers"]
    with pytest.raises(SimulatorError, match="searchContainers"):
        sim.install_descriptor(descriptor)


def test_descriptor_url_that_does_not_answer_200_is_refused(sim, fake_app):
    with pytest.raises(SimulatorError, match="not 200"):
        sim.install(f"{fake_app.base_url}/missing.json")


def test_apps_outside_the_allowed_hosts_are_never_called(sim):
    with pytest.raises(SimulatorError, match="allowed app hosts"):
        sim.install("http://example.com/atlassian-connect.json")


def test_uninstall_sends_a_signed_callback_without_the_secret_and_deletes_data(sim, fake_app):
    sim.install(fake_app.descriptor_url)
    AppClient(sim, sim.installation()).post(f"{API}/bulk", json={"incidents": [make_incident()]})
    result = sim.uninstall()
    assert result.ok and result.status == 204
    [call] = fake_app.calls_to("/uninstalled")
    assert call.verified, call.error
    assert call.body["eventType"] == "uninstalled"
    assert "sharedSecret" not in call.body
    assert sim.site().installations == {}
    assert sim.incidents(app_key="com.example.ops-provider") == {}


def test_uninstall_completes_even_if_the_app_fails(sim, fake_app):
    sim.install(fake_app.descriptor_url)
    fake_app.statuses["/connect/uninstalled"] = 500
    assert sim.uninstall().status == 500
    assert sim.site().installations == {}


def test_tenant_info_gives_the_cloud_id(sim):
    sim.create_site("b")
    for prefix, site in (("", sim.site()), ("/site/b", sim.site("b"))):
        response = requests.get(f"{sim.url}{prefix}/_edge/tenant_info", timeout=5)
        assert response.json() == {"cloudId": site.cloud_id}
