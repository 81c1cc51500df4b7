"""The admin's sync actions end to end: staff press the button, the relay runs once, and
jirasim (over real HTTP) holds what the portal says it should."""

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.urls import reverse
from django.utils import timezone

from connect.client import JiraClient
from incidents.models import Incident
from incidents.models.outbox import SiteSyncStatus, SyncState
from tests.incidents.factories import make_incident, make_review, make_workspace
from tests.sync.conftest import drain, fast_config, jira_view, portal_view

from .support import INCIDENTS, REVIEWS, SITES, confirm_action, run_action
from .test_change_page import status_text

pytestmark = pytest.mark.django_db


@pytest.fixture
def workspace(site):
    workspace = make_workspace()
    workspace.link_site(site)
    return workspace


def requests_since(sim, mark: int) -> list:
    return [e for e in sim.log.entries() if e["direction"] == "in"][mark:]


def request_count(sim) -> int:
    return len(requests_since(sim, 0))


def test_delete_from_jira_removes_it_from_jira_and_keeps_it_in_the_portal(
    sim, site, workspace, ops_client
):
    kept, deleted = make_incident(workspace), make_incident(workspace)
    drain()
    assert set(sim.incidents()) == {kept.external_id, deleted.external_id}

    confirm_action(ops_client, INCIDENTS, "delete_from_jira", [deleted])
    drain()

    assert set(sim.incidents()) == {kept.external_id}
    assert Incident.objects.filter(pk=deleted.pk).exists()
    assert status_text(ops_client, deleted, site).startswith("Deleted")
    # Not sent again by later rounds: nothing changed.
    mark = request_count(sim)
    drain()
    assert requests_since(sim, mark) == []


def test_the_next_edit_sends_a_deleted_incident_to_jira_again(sim, site, workspace, ops_client):
    incident = make_incident(workspace)
    drain()
    confirm_action(ops_client, INCIDENTS, "delete_from_jira", [incident])
    drain()
    assert sim.incidents() == {}
    incident.summary = "Edited after the delete from Jira"
    incident.save()
    drain()
    assert sim.incidents()[incident.external_id]["summary"] == "Edited after the delete from Jira"
    assert jira_view(sim) == portal_view(site)
    assert status_text(ops_client, incident, site).startswith("Synced")


def test_a_late_submit_cannot_bring_back_an_incident_deleted_from_jira(
    sim, site, workspace, ops_client
):
    incident = make_incident(workspace)
    drain()
    stale = sim.incidents()[incident.external_id]
    confirm_action(ops_client, INCIDENTS, "delete_from_jira", [incident])
    drain(fast_config(verify_delete_seconds=3600))
    JiraClient(site).submit_entities(incidents=[stale])  # a delayed duplicate lands late
    assert incident.external_id in sim.incidents()
    SyncState.objects.filter(kind="incident").update(verify_at=timezone.now())
    drain()
    assert sim.incidents() == {}
    state = SyncState.objects.get(kind="incident")
    assert state.withheld and not state.pending and state.verify_at is None


def test_delete_from_jira_of_a_review(sim, site, workspace, ops_client):
    review = make_review([make_incident(workspace)])
    drain()
    assert review.external_id in sim.reviews()
    confirm_action(ops_client, REVIEWS, "delete_from_jira", [review])
    drain()
    assert sim.reviews() == {}
    assert review.incidents.get().external_id in sim.incidents()


def test_send_to_jira_now_resends_an_incident_jira_refused(sim, site, workspace, ops_client):
    incident = make_incident(workspace)
    drain()
    incident.summary = "Refused the first time"
    incident.save()
    sim.faults.update(script=[{"status": 400}])  # Jira refuses the whole request once
    drain()
    state = SyncState.objects.get(kind="incident")
    assert state.error and not state.pending
    assert status_text(ops_client, incident, site).startswith("Failed")
    mark = request_count(sim)
    drain()
    assert requests_since(sim, mark) == []  # a refusal is not retried on its own

    run_action(ops_client, INCIDENTS, "send_to_jira_now", [incident])
    drain()

    assert sim.incidents()[incident.external_id]["summary"] == "Refused the first time"
    assert status_text(ops_client, incident, site).startswith("Synced")


def test_resend_everything_restores_what_jira_lost(sim, site, workspace, ops_client):
    incidents = [make_incident(workspace) for _ in range(3)]
    drain()
    sim.reset(data_only=True)  # Jira lost the site's data behind the portal's back
    assert sim.incidents() == {}
    run_action(ops_client, INCIDENTS, "send_to_jira_now", incidents)
    drain()
    assert sim.incidents() == {}  # in sync as far as the portal knows: nothing sent
    run_action(ops_client, INCIDENTS, "resend_everything_to_jira", incidents)
    drain()
    assert jira_view(sim) == portal_view(site)


def test_resume_sending_after_fixing_the_credentials(sim, site, workspace, ops_client):
    secret = site.shared_secret
    incident = make_incident(workspace)
    site.set_shared_secret("a-secret-jira-has-never-heard-of-at-all")
    site.save()
    drain()
    assert SiteSyncStatus.objects.get(installation=site).needs_attention
    assert status_text(ops_client, incident, site).startswith("Attention")
    site.set_shared_secret(secret)  # staff restored the right secret
    site.save()
    mark = request_count(sim)
    drain()
    assert requests_since(sim, mark) == []  # still waiting for staff

    page = reverse("admin:connect_installation_change", args=[site.pk])
    response = run_action(ops_client, SITES, "resume_sending", [site], _jira_sync_from_change="1")
    assert response.url == page
    drain()

    assert jira_view(sim) == portal_view(site)
    assert status_text(ops_client, incident, site).startswith("Synced")


SYNC_STATES = reverse("admin:incidents_syncstate_changelist")


def test_a_refused_workspace_link_shows_jiras_message_and_staff_send_it_again(
    sim, site, workspace, ops_client
):
    incident = make_incident(workspace)
    sim.faults.update(script=[{"status": 400}])
    drain()
    state = SyncState.objects.get(kind="workspace")
    assert state.error.startswith("Jira refused: submit_workspaces: Jira answered 400")
    page = ops_client.get(SYNC_STATES, {"status": "failed"}).content.decode()
    assert workspace.external_id in page and "Jira answered 400" in page
    mark = request_count(sim)
    drain()
    assert requests_since(sim, mark) == []  # a refusal is not retried on its own

    response = run_action(ops_client, SYNC_STATES, "send_again", [state])
    assert response.status_code == 302
    drain()

    assert sim.workspaces() == [workspace.external_id]
    assert incident.external_id in sim.incidents()
    assert SyncState.objects.get(kind="workspace").status == "synced"


def test_only_staff_who_may_resume_sending_may_send_rows_again(site, workspace, client):
    viewer = get_user_model().objects.create_user("viewer", password="x", is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_syncstate"))
    client.force_login(viewer)
    state = SyncState.objects.get(kind="workspace")
    SyncState.objects.filter(pk=state.pk).update(pending=False, error="Jira refused: 400")
    run_action(client, SYNC_STATES, "send_again", [state])
    state.refresh_from_db()
    assert not state.pending and state.error == "Jira refused: 400"


def test_deleting_the_last_incident_of_a_review_in_the_admin_says_it_is_withheld(
    sim, site, workspace, admin_client
):
    incident = make_incident(workspace)
    review = make_review([incident])
    drain()
    response = admin_client.post(
        reverse("admin:incidents_incident_delete", args=[incident.pk]), {"post": "yes"}
    )
    assert response.status_code == 302
    (message,) = [str(m) for m in response.wsgi_request._messages if m.level_tag == "warning"]
    assert message.startswith(f"Now covering no incident: {review.external_id}.")
    drain()
    assert sim.reviews() == {}
    state = SyncState.objects.get(kind="review")
    assert state.status == "failed" and state.error.startswith("Not sent to Jira")
