"""Jira's calls to the app's actions: methods, bodies, and JWTs the app can verify."""

import pytest

from jirasim.actions import DEFAULT_ACCOUNT_ID
from tests.jirasim.fakeapp import FakeApp

WORKSPACES = {
    "workspaces": [
        {
            "id": "ws-1",
            "name": "Payments",
            "url": "https://ops.example.com/ws/ws-1",
            "avatarUrl": "https://ops.example.com/a.png",
        }
    ]
}
CONTAINERS = {
    "containers": [
        {
            "id": "svc-checkout",
            "name": "Checkout service",
            "url": "https://ops.example.com/c/svc-checkout",
            "avatarUrl": "https://ops.example.com/c.png",
            "lastUpdatedDate": "2026-11-20T10:00:00+00:00",
        }
    ]
}


@pytest.fixture
def fake_app(sim):
    with FakeApp(keys_url=sim.install_keys_url) as app:
        app.replies["/actions/fetchWorkspaces"] = WORKSPACES
        app.replies["/actions/searchContainers"] = CONTAINERS
        assert sim.install(app.descriptor_url).ok
        yield app


def test_fetch_workspaces_posts_the_ids_with_a_verifiable_jwt(sim, fake_app):
    result = sim.fetch_workspaces(["ws-1", "ws-2"])
    assert result.ok, result.problems
    [call] = fake_app.calls_to("/fetchWorkspaces")
    assert call.verified, call.error
    assert (call.method, call.query, call.body) == ("POST", "", {"ids": ["ws-1", "ws-2"]})
    assert call.claims["sub"] == DEFAULT_ACCOUNT_ID
    assert sim.site().data["com.example.ops-provider"].workspace_details["ws-1"]["name"] == (
        "Payments"
    )


def test_fetch_workspaces_reports_workspaces_that_were_not_asked_for(sim, fake_app):
    result = sim.fetch_workspaces(["ws-9"])
    assert not result.ok
    assert "'ws-1' was not asked for" in result.problems[0]


def test_search_containers_gets_with_an_encoded_search_query(sim, fake_app):
    result = sim.search_containers("db prod", workspace_id="ws-1")
    assert result.ok, result.problems
    [call] = fake_app.calls_to("/searchContainers")
    assert call.verified, call.error
    assert call.method == "GET"
    assert call.query == "searchQuery=db%20prod&workspaceId=ws-1"
    assert result.data == CONTAINERS


def test_search_containers_without_a_workspace_sends_only_the_query(sim, fake_app):
    sim.search_containers("")
    [call] = fake_app.calls_to("/searchContainers")
    assert call.query == "searchQuery="
    assert call.verified, call.error


def test_container_ids_outside_the_allowed_pattern_are_reported(sim, fake_app):
    fake_app.replies["/actions/searchContainers"] = {
        "containers": [{"id": "has space", "name": "x"}]
    }
    result = sim.search_containers("x")
    assert any("does not match" in problem for problem in result.problems)


def test_associate_puts_entity_project_and_user(sim, fake_app):
    site = sim.site()
    result = sim.associate("svc-checkout", "10001")
    assert result.ok, result.problems
    [call] = fake_app.calls_to("/onEntityAssociated")
    assert call.verified, call.error
    assert call.method == "PUT"
    assert call.body == {
        "entity": {
            "ari": f"ari:cloud:jira:{site.cloud_id}:operations-container/svc-checkout",
            "id": "svc-checkout",
        },
        "associatedWith": {
            "ati": "ati:cloud:jira:project",
            "ari": f"ari:cloud:jira:{site.cloud_id}:project/10001",
            "cloudId": site.cloud_id,
            "id": "10001",
        },
        "user": {"id": DEFAULT_ACCOUNT_ID},
    }
    assert sim.associations() == {"svc-checkout": ["10001"]}


def test_disassociate_puts_disassociated_from_and_forgets_the_link(sim, fake_app):
    sim.associate("svc-checkout", "10001")
    result = sim.disassociate("svc-checkout", "10001")
    assert result.ok
    [call] = fake_app.calls_to("/onEntityDisassociated")
    assert call.verified, call.error
    assert call.body["disassociatedFrom"]["id"] == "10001"
    assert "associatedWith" not in call.body
    assert sim.associations() == {}


def test_a_call_without_a_user_has_no_sub_and_no_user(sim, fake_app):
    sim.associate("svc-checkout", "10001", user_id=None)
    [call] = fake_app.calls_to("/onEntityAssociated")
    assert "sub" not in call.claims
    assert "user" not in call.body


def test_failed_association_notice_is_reported_and_not_recorded(sim, fake_app):
    fake_app.statuses["/actions/onEntityAssociated"] = 500
    result = sim.associate("svc-checkout", "10001")
    assert not result.ok
    assert result.status == 500
    assert sim.associations() == {}


def test_app_without_the_optional_notice_still_gets_the_association(sim):
    with FakeApp(keys_url=sim.install_keys_url) as app:
        descriptor = app.descriptor
        del descriptor["modules"]["jiraOperationsInfoProvider"]["actions"]["onEntityAssociated"]
        sim.install_descriptor(descriptor)
        result = sim.associate("svc-checkout", "10001")
        assert result.ok and not result.called
        assert app.calls_to("/onEntityAssociated") == []
    assert sim.associations() == {"svc-checkout": ["10001"]}


def test_project_keys_are_translated_to_ids_on_sites_that_know_their_projects(sim, fake_app):
    site = sim.create_site("b", projects={"OPS": "10000"})
    sim.install(fake_app.descriptor_url, site="b")
    sim.associate("svc-checkout", "OPS", site="b")
    assert (
        fake_app.calls_to("/onEntityAssociated")[-1]
        .body["associatedWith"]["ari"]
        .endswith(f"{site.cloud_id}:project/10000")
    )


def test_actions_under_an_app_base_path_carry_a_relative_qsh(sim):
    with FakeApp(keys_url=sim.install_keys_url, base_path="/portal") as app:
        app.replies["/actions/fetchWorkspaces"] = WORKSPACES
        sim.install(app.descriptor_url)
        assert sim.fetch_workspaces(["ws-1"]).ok
        [call] = app.calls_to("/fetchWorkspaces")
        assert call.path == "/portal/actions/fetchWorkspaces"
        assert call.verified, call.error


def test_an_unreachable_app_is_a_problem_not_a_crash(sim, fake_app):
    fake_app.server.shutdown()
    fake_app.server.server_close()
    result = sim.fetch_workspaces(["ws-1"])
    assert result.status == 0 and not result.ok
    assert "failed" in result.problems[0]
