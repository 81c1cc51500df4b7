"""The relay sends what the outbox holds to jirasim over real HTTP, in bulk, and converges."""

import json

import pytest
from django.utils import timezone

from connect.client import JiraClient
from incidents.models import Incident
from incidents.models.outbox import SiteSyncStatus, SyncState
from incidents.sync.relay import BATCHES_PER_STEP, SiteSender, claim, relay_once
from tests.incidents.factories import make_container, make_incident, make_review, make_workspace
from tests.sync.conftest import drain, fast_config, install_into, jira_view, portal_view

pytestmark = pytest.mark.django_db


def requests_to(sim, method: str, path_part: str) -> list:
    return [
        e
        for e in sim.log.entries()
        if e["direction"] == "in" and e["method"] == method and path_part in e["path"]
    ]


def submit_requests(sim) -> list:
    return requests_to(sim, "POST", "/rest/operations/1.0/bulk")


@pytest.fixture
def workspace(site):
    workspace = make_workspace()
    workspace.link_site(site)
    return workspace


def test_a_linked_workspace_and_its_incident_reach_jira(sim, site, workspace):
    incident = make_incident(workspace, severity="P1")
    drain()
    assert sim.workspaces() == [workspace.external_id]
    stored = sim.incidents()[incident.external_id]
    assert stored["severity"] == {"level": "P1"}
    assert sim.properties(incident.external_id) == {"workspaceId": workspace.external_id}
    assert not SyncState.objects.filter(pending=True).exists()


def test_a_delete_undone_by_a_late_submit_is_caught_and_deleted_again(sim, site, workspace):
    incident = make_incident(workspace)
    drain()
    stale = sim.incidents()[incident.external_id]
    incident.delete()
    drain(fast_config(verify_delete_seconds=3600))
    tombstone = SyncState.objects.get(kind="incident")
    assert sim.incidents() == {}
    JiraClient(site).submit_entities(incidents=[stale])  # a delayed duplicate lands late
    assert incident.external_id in sim.incidents()
    SyncState.objects.filter(pk=tombstone.pk).update(verify_at=timezone.now())
    drain()
    assert sim.incidents() == {}
    assert not SyncState.objects.filter(kind="incident").exists()


def test_an_unlinked_site_receives_nothing(sim, site):
    make_incident(make_workspace())
    drain()
    assert jira_view(sim) == {"incidents": {}, "reviews": {}}
    assert sim.log.entries() == []


def test_many_changes_go_in_few_requests(sim, site, workspace):
    container = make_container(workspace)
    incidents = [make_incident(workspace, containers=[container]) for _ in range(30)]
    for incident in incidents:
        incident.summary += " (edited)"
        incident.save()
    drain(fast_config(batch_size=1000))
    assert len(submit_requests(sim)) == 1
    assert jira_view(sim) == portal_view(site)


def test_batches_respect_the_configured_size(sim, site, workspace):
    container = make_container(workspace)
    for _ in range(7):
        make_incident(workspace, containers=[container])
    drain(fast_config(batch_size=3))
    assert len(submit_requests(sim)) == 3
    assert jira_view(sim) == portal_view(site)


LONG_BACKLOG = 2 * BATCHES_PER_STEP + 4  # in batches of 2: more than one step's batches


def long_backlog(workspace) -> list[Incident]:
    container = make_container(workspace)
    return [make_incident(workspace, containers=[container]) for _ in range(LONG_BACKLOG)]


def pending_incidents(site) -> int:
    return SyncState.objects.filter(installation=site, kind="incident", pending=True).count()


def test_a_backlog_with_nothing_else_waiting_drains_in_one_round(sim, site, workspace):
    drain()  # the link
    long_backlog(workspace)
    assert relay_once(worker_id="test", config=fast_config(batch_size=2)) == LONG_BACKLOG
    assert pending_incidents(site) == 0
    assert jira_view(sim) == portal_view(site)


def test_another_sites_change_is_not_held_behind_a_long_backlog(sim, site, workspace):
    other_site = install_into(sim, "second")
    other_workspace = make_workspace()
    other_workspace.link_site(other_site)
    drain()  # the links
    long_backlog(workspace)
    theirs = make_incident(other_workspace)

    relay_once(worker_id="test", config=fast_config(batch_size=2))

    assert set(sim.incidents(site="second")) == {theirs.external_id}
    assert pending_incidents(site) == LONG_BACKLOG - 2 * BATCHES_PER_STEP


def test_a_sites_review_is_not_held_behind_a_long_backlog_of_its_incidents(sim, site, workspace):
    drain()  # the link
    incidents = long_backlog(workspace)
    review = make_review([incidents[0]])

    relay_once(worker_id="test", config=fast_config(batch_size=2))

    assert review.external_id in sim.reviews()
    assert pending_incidents(site) == LONG_BACKLOG - 2 * BATCHES_PER_STEP


def test_reviews_go_in_their_own_request(sim, site, workspace):
    review = make_review([make_incident(workspace)])
    drain()
    assert sim.reviews()[review.external_id]["reviews"] == [review.incidents.get().external_id]
    bodies = [e for e in submit_requests(sim)]
    assert len(bodies) == 2


def test_a_deleted_incident_is_deleted_from_jira(sim, site, workspace):
    incident = make_incident(workspace)
    drain()
    incident.delete()
    drain()
    assert sim.incidents() == {}
    assert not SyncState.objects.filter(kind="incident").exists()


def test_an_incident_deleted_before_it_was_ever_sent_costs_no_request(sim, site, workspace):
    incident = make_incident(workspace)
    incident.delete()
    drain()
    assert not requests_to(sim, "DELETE", "/incidents/")


def test_a_delete_after_an_unlink_undone_before_it_was_sent_still_reaches_jira(
    sim, site, workspace, settings
):
    settings.SYNC_VERIFY_DELETE_SECONDS = 3600
    incident = make_incident(workspace)
    drain()
    workspace.unlink_site(site)
    workspace.link_site(site)  # before the worker sent the unlink: no delete-by-property
    incident.delete()
    drain(fast_config(verify_delete_seconds=3600))
    assert sim.incidents() == {}


def test_a_change_after_a_delete_still_deletes_what_a_late_submit_brought_back(
    sim, site, workspace
):
    incident = make_incident(workspace)
    drain()
    stale = sim.incidents()[incident.external_id]
    Incident.objects.filter(pk=incident.pk).update(workspace=make_workspace())  # not linked
    drain(fast_config(verify_delete_seconds=3600))
    assert sim.incidents() == {}
    Incident.objects.filter(pk=incident.pk).update(status="resolved")  # before the check
    JiraClient(site).submit_entities(incidents=[stale])  # a delayed duplicate lands late
    drain(fast_config(verify_delete_seconds=3600))
    assert sim.incidents() == {}


def test_an_unlink_remembers_what_a_dead_worker_may_have_sent(sim, site, workspace):
    drain()  # the link is delivered first: entities wait for it
    incident = make_incident(workspace)  # never recorded as sent: the worker dies
    rows = claim(site.pk, "incident", 10, "dead", fast_config())
    for _ in SiteSender(site, JiraClient(site, max_attempts=1)).entities("incident", rows):
        pass
    stale = sim.incidents()[incident.external_id]
    workspace.unlink_site(site)
    drain(fast_config(verify_delete_seconds=3600))
    Incident.objects.filter(pk=incident.pk).update(status="resolved")  # before the check
    JiraClient(site).submit_entities(incidents=[stale])  # the dead worker's request, late
    SyncState.objects.update(claimed_until=None)
    drain(fast_config(verify_delete_seconds=3600))
    assert sim.incidents() == {}


def test_unlinking_removes_the_workspace_and_its_data_from_jira(sim, site, workspace):
    make_incident(workspace)
    drain()
    workspace.unlink_site(site)
    drain()
    assert sim.workspaces() == []
    assert sim.incidents() == {}


@pytest.mark.django_db(transaction=True)
def test_an_edit_while_a_send_is_in_flight_is_sent_after_it(sim, site, workspace, monkeypatch):
    incident = make_incident(workspace)
    drain()
    original = sim.handle

    def edit_during_request(request):
        if "/bulk" in request.path and request.method == "POST":
            Incident.objects.filter(pk=incident.pk).update(summary="edited in flight")
        return original(request)

    incident.summary = "first edit"
    incident.save()
    monkeypatch.setattr(sim, "handle", edit_during_request)
    from incidents.sync.relay import relay_once

    relay_once(worker_id="test", config=fast_config())
    monkeypatch.setattr(sim, "handle", original)
    assert SyncState.objects.get(kind="incident").pending
    drain()
    incident.refresh_from_db()
    assert sim.incidents()[incident.external_id]["summary"] == "edited in flight"
    assert jira_view(sim) == portal_view(site)


def test_jira_refusing_one_incident_is_stored_and_not_resent(sim, site, workspace):
    good = make_incident(workspace)
    bad = make_incident(workspace)
    Incident.objects.filter(pk=bad.pk).update(description="x" * 5001)
    drain()
    state = SyncState.objects.get(kind="incident", external_id=bad.external_id)
    assert state.error and not state.pending
    assert good.external_id in sim.incidents()
    requests_before = len(submit_requests(sim))
    drain()
    assert len(submit_requests(sim)) == requests_before


def test_an_unreachable_jira_keeps_changes_pending_with_a_retry_time(sim, site, workspace):
    incident = make_incident(workspace)
    sim.faults.update(fail_rate=1.0, fail_statuses=(503,), retry_after=None)
    drain(fast_config(backoff_base=60, backoff_cap=60))
    state = SyncState.objects.get(kind="workspace")
    assert state.pending and state.attempts == 1 and "503" in state.last_attempt_error
    sim.faults.update(fail_rate=0.0)
    SyncState.objects.update(next_attempt_at=state.changed_at)
    SiteSyncStatus.objects.update(paused_until=None)
    drain()
    assert incident.external_id in sim.incidents()


def test_a_site_refusing_our_credentials_needs_attention_and_is_left_alone(sim, site, workspace):
    make_incident(workspace)
    site.set_shared_secret("not-the-secret-jira-issued-for-this-site-at-all")
    site.save()
    drain()
    status = SiteSyncStatus.objects.get(installation=site)
    assert status.needs_attention
    calls = len(sim.log.entries())
    drain()
    assert len(sim.log.entries()) == calls


def test_an_uninstalled_site_is_not_called(sim, site, workspace):
    make_incident(workspace)
    site.state = site.State.UNINSTALLED
    site.save()
    drain()
    assert sim.log.entries() == []
    assert SyncState.objects.filter(pending=True).count() == 2


def test_two_sites_each_get_only_their_workspaces(sim, site, workspace):
    other_site = install_into(sim, "second")
    other_workspace = make_workspace()
    other_workspace.link_site(other_site)
    mine = make_incident(workspace)
    theirs = make_incident(other_workspace)
    drain()
    assert set(sim.incidents()) == {mine.external_id}
    assert set(sim.incidents(site="second")) == {theirs.external_id}


def test_a_burst_of_changes_converges_despite_a_flaky_jira(sim, site, workspace):
    sim.faults.update(fail_rate=0.15, throttle_rate=0.1, drop_rate=0.05, retry_after=0, seed=7)
    containers = [make_container(workspace) for _ in range(3)]
    incidents = [make_incident(workspace, containers=containers[:2]) for _ in range(25)]
    drain(fast_config(batch_size=7), rounds=1)
    for n, incident in enumerate(incidents):
        if n % 5 == 0:
            incident.delete()
        elif n % 3 == 0:
            incident.status = "resolved"
            incident.save()
        else:
            incident.affected_containers.set(containers[1:])
    make_review([i for i in incidents if i.pk is not None][:3])
    for _ in range(200):
        SyncState.objects.update(next_attempt_at=timezone.now())
        SiteSyncStatus.objects.update(paused_until=None)
        if (
            not drain(fast_config(batch_size=7), rounds=5)
            and not SyncState.objects.filter(pending=True).exists()
        ):
            break
    assert not SyncState.objects.filter(pending=True).exists()
    assert jira_view(sim) == portal_view(site)
    faults = [e for e in sim.log.entries() if e["fault"]]
    assert len(faults) > 5


def test_a_429_pauses_the_site_for_at_least_retry_after(sim, site, workspace):
    make_incident(workspace)
    sim.faults.update(script=[{"status": 429, "retry_after": 1847}])
    before = timezone.now()
    drain(fast_config(backoff_base=1, backoff_cap=10))
    state = SyncState.objects.get(kind="workspace")
    status = SiteSyncStatus.objects.get(installation=site)
    assert state.next_attempt_at is not None and status.paused_until is not None
    assert (state.next_attempt_at - before).total_seconds() >= 1847
    assert (status.paused_until - before).total_seconds() >= 1847
    calls = len(sim.log.entries())
    drain(fast_config())
    assert len(sim.log.entries()) == calls  # nothing sent into the throttled window


def test_workspace_links_go_at_most_100_a_request(sim, site):
    workspaces = [make_workspace() for _ in range(150)]
    for workspace in workspaces:
        workspace.link_site(site)
    drain()
    assert len(requests_to(sim, "POST", "/linkedWorkspaces/bulk")) == 2
    assert sorted(sim.workspaces()) == sorted(w.external_id for w in workspaces)


def test_submits_carry_the_portals_name_and_version(sim, site, workspace, monkeypatch):
    bodies = []
    original = sim.handle

    def capture(request):
        if request.method == "POST" and request.path.endswith("/1.0/bulk"):
            bodies.append(json.loads(request.body))
        return original(request)

    monkeypatch.setattr(sim, "handle", capture)
    make_incident(workspace)
    drain()
    assert bodies[0]["providerMetadata"]["product"].startswith("Ops Portal ")
    assert bodies[0]["properties"] == {"workspaceId": workspace.external_id}
