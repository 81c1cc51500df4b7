"""The relay while Jira keeps failing: every step progresses on its own, a failure costs only
its own rows, permanent refusals are kept with Jira's message, and a payload Jira would refuse
is withheld instead of sent."""

import pytest
from django.utils import timezone

from incidents.models import Incident, PostIncidentReview
from incidents.models.outbox import SiteSyncStatus, SyncState
from incidents.sync.relay import relay_once
from tests.incidents.factories import make_container, make_incident, make_review, make_workspace
from tests.sync.conftest import drain, fast_config, jira_view, portal_view

pytestmark = pytest.mark.django_db

FAIL = {"status": 500}


@pytest.fixture
def workspace(site):
    workspace = make_workspace()
    workspace.link_site(site)
    return workspace


def one_round(**config) -> int:
    return relay_once(worker_id="w1", config=fast_config(**config))


def requests_since(sim, mark: int) -> list[dict]:
    return [e for e in sim.log.entries(since=mark) if e["direction"] == "in"]


def last_id(sim) -> int:
    entries = sim.log.entries()
    return entries[-1]["id"] if entries else 0


def row(kind: str, external_id: str) -> SyncState:
    return SyncState.objects.get(kind=kind, external_id=external_id)


def test_failing_deletes_do_not_starve_reviews_or_tombstone_checks(sim, site, workspace):
    container = make_container(workspace)
    kept = make_incident(workspace, containers=[container])
    doomed = [make_incident(workspace, containers=[container]) for _ in range(4)]
    checked = make_incident(workspace, containers=[container])
    review = make_review([kept])
    drain()
    checked.delete()
    drain(fast_config(verify_delete_seconds=3600))
    SyncState.objects.filter(external_id=checked.external_id).update(verify_at=timezone.now())
    for incident in doomed:
        incident.delete()
    review.summary = "Edited while Jira fails"
    review.save()
    sim.faults.update(script=[FAIL, FAIL, FAIL])  # the first three deletes of the round fail
    mark = last_id(sim)

    one_round(backoff_base=60, backoff_cap=60)

    assert sim.reviews()[review.external_id]["summary"] == "Edited while Jira fails"
    gets = [e for e in requests_since(sim, mark) if e["method"] == "GET"]
    assert [e["status"] for e in gets] == [404]  # the tombstone was checked, and dropped
    assert not SyncState.objects.filter(external_id=checked.external_id).exists()
    backing_off = SyncState.objects.filter(kind="incident", pending=True, attempts=1)
    assert backing_off.count() == 3  # only the rows of the failed requests wait
    assert all(r.next_attempt_at > timezone.now() for r in backing_off)
    untried = SyncState.objects.get(kind="incident", pending=True, attempts=0)
    assert untried.claimed_until is None and untried.next_attempt_at <= timezone.now()
    one_round()
    assert SyncState.objects.filter(kind="incident", pending=True).count() == 3


def test_a_failed_delete_backs_off_for_its_row_only(sim, site, workspace):
    container = make_container(workspace)
    first, second = (make_incident(workspace, containers=[container]) for _ in range(2))
    drain()
    first.delete()
    second.delete()
    sim.faults.update(script=[FAIL])

    one_round(backoff_base=60, backoff_cap=60, verify_delete_seconds=3600)

    waiting = SyncState.objects.get(kind="incident", pending=True)
    assert waiting.attempts == 1 and "500" in waiting.last_attempt_error
    assert (waiting.next_attempt_at - timezone.now()).total_seconds() > 30
    assert sim.incidents() == {waiting.external_id: sim.incidents()[waiting.external_id]}


def test_a_failed_tombstone_check_waits_its_backoff_and_the_others_go_on(sim, site, workspace):
    container = make_container(workspace)
    incidents = [make_incident(workspace, containers=[container]) for _ in range(2)]
    drain()
    for incident in incidents:
        incident.delete()
    drain(fast_config(verify_delete_seconds=3600))
    SyncState.objects.update(verify_at=timezone.now())
    sim.faults.update(script=[FAIL])

    one_round(backoff_base=60, backoff_cap=60)

    (tombstone,) = SyncState.objects.filter(kind="incident")  # the other was checked, dropped
    assert tombstone.attempts == 1 and "500" in tombstone.last_attempt_error
    assert tombstone.verify_at is not None
    assert (tombstone.verify_at - timezone.now()).total_seconds() > 30
    mark = last_id(sim)
    one_round()
    assert requests_since(sim, mark) == []  # not checked again before its retry time


@pytest.mark.parametrize("status", [400, 404, 409, 422])
def test_a_refused_workspace_link_is_kept_with_jiras_message_and_not_retried(
    sim, site, workspace, status
):
    sim.faults.update(script=[{"status": status}])
    drain()
    state = row("workspace", workspace.external_id)
    assert not state.pending and state.status == "failed"
    assert state.error.startswith(f"Jira refused: submit_workspaces: Jira answered {status}")
    mark = last_id(sim)
    drain()
    assert requests_since(sim, mark) == []


def test_a_refused_unlink_is_kept_and_a_404_on_unlink_means_done(sim, site, workspace):
    other = make_workspace()
    other.link_site(site)
    drain()
    sim.faults.update(script=[{"status": 400}, {"status": 404}, {"status": 404}])
    workspace.unlink_site(site)
    other.unlink_site(site)
    drain()
    refused = row("workspace", workspace.external_id)
    assert refused.error.startswith("Jira refused: delete_by_properties: Jira answered 400")
    assert refused.present_in_jira and not refused.pending
    assert not SyncState.objects.filter(external_id=other.external_id).exists()


def test_a_refused_delete_is_kept_until_the_entity_changes_again(sim, site, workspace):
    incident = make_incident(workspace)
    drain()
    incident.delete()
    sim.faults.update(script=[{"status": 400}])
    drain()
    state = row("incident", incident.external_id)
    assert state.error.startswith("Jira refused: delete_incident: Jira answered 400")
    mark = last_id(sim)
    drain()
    assert requests_since(sim, mark) == []


def test_the_last_incident_of_a_review_deleted_withholds_the_review_and_flags_it(sim, site):
    workspace = make_workspace()
    workspace.link_site(site)
    incident = make_incident(workspace)
    review = make_review([incident])
    drain()
    assert review.external_id in sim.reviews()
    mark = last_id(sim)

    incident.delete()
    drain()

    state = row("review", review.external_id)
    assert state.status == "failed" and not state.pending
    assert state.error == ("Not sent to Jira: a review must cover 1 to 100 incidents; it covers 0.")
    assert sim.reviews() == {}  # the stale review went: Jira would refuse the new one
    posts = [e for e in requests_since(sim, mark) if e["method"] == "POST"]
    assert posts == []  # nothing Jira would refuse was sent
    assert jira_view(sim) == portal_view(site)

    review.incidents.add(make_incident(workspace))
    drain()
    assert review.external_id in sim.reviews()
    assert row("review", review.external_id).status == "synced"


def test_a_review_never_sent_without_incidents_is_flagged_without_a_request(sim, site):
    workspace = make_workspace()
    workspace.link_site(site)
    drain()
    review = make_review([], workspace=workspace)
    mark = last_id(sim)
    drain()
    assert requests_since(sim, mark) == []
    assert row("review", review.external_id).error.startswith("Not sent to Jira")
    assert PostIncidentReview.objects.filter(pk=review.pk).exists()


def test_an_incident_without_services_is_withheld_too(sim, site, workspace):
    incident = make_incident(workspace)
    drain()
    incident.affected_containers.clear()
    drain()
    assert row("incident", incident.external_id).error == (
        "Not sent to Jira: an incident must affect 1 to 100 services; it affects 0."
    )
    assert sim.incidents() == {}
    assert Incident.objects.filter(pk=incident.pk).exists()


def test_a_429_on_one_site_leaves_the_other_sites_going(sim, site, workspace):
    from tests.sync.conftest import install_into

    other_site = install_into(sim, "second")
    other = make_workspace()
    make_incident(other)
    other.link_site(other_site)
    make_incident(workspace)
    sim.faults.update(script=[{"status": 429, "retry_after": 600}])
    drain()
    paused_until = SiteSyncStatus.objects.get(installation=site).paused_until
    assert paused_until is not None and paused_until > timezone.now()
    assert jira_view(sim, "second") == portal_view(other_site)


def test_reviews_covering_only_some_incidents_are_found_before_they_are_deleted():
    workspace = make_workspace()
    first, second, third = (make_incident(workspace) for _ in range(3))
    only_first = make_review([first])
    first_and_second = make_review([first, second])
    make_review([third])
    covering = PostIncidentReview.objects.covering_only
    assert list(covering([first.pk])) == [only_first]
    assert set(covering([first.pk, second.pk])) == {only_first, first_and_second}
