"""The admin actions on incidents and reviews and what they leave in the outbox: "Send to Jira
now", "Resend everything to Jira" and "Delete from Jira" (with its confirmation page)."""

from datetime import timedelta

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse
from django.utils import timezone

from incidents.models.outbox import SyncState
from incidents.sync import staff as sync_actions
from tests.incidents.factories import make_incident, make_installation, make_review

from .support import (
    INCIDENTS,
    REVIEWS,
    confirm_action,
    failed,
    messages_of,
    retrying,
    run_action,
    site_status,
    synced,
)

pytestmark = pytest.mark.django_db


def row(entity, site, kind="incident") -> SyncState:
    return SyncState.objects.get(installation=site, kind=kind, external_id=entity.external_id)


@pytest.fixture
def two_sites():
    return make_installation(), make_installation()


@pytest.fixture
def incident(two_sites):
    incident = make_incident()
    for site in two_sites:
        incident.workspace.link_site(site)
    return incident


# --- Send to Jira now ---------------------------------------------------------------------------


def test_send_now_makes_a_failed_entity_due_now_and_forgets_the_refusal(incident, two_sites):
    a, b = two_sites
    synced(incident, a)
    refused = failed(incident, b, message="Jira refused: bad")
    result = sync_actions.send_now("incident", [(incident.external_id, incident.workspace_id)])
    state = row(incident, b)
    assert state.pending and state.error == "" and state.attempts == 0
    assert state.next_attempt_at <= timezone.now()
    assert state.change_token != refused.change_token
    assert not row(incident, a).pending  # in sync there: left alone
    assert (result.rows, result.sites, result.already_in_sync) == (1, 1, 0)


def test_send_now_cuts_a_backoff_short(incident, two_sites):
    a, _ = two_sites
    retrying(incident, a)
    sync_actions.send_now("incident", [(incident.external_id, incident.workspace_id)])
    state = row(incident, a)
    assert state.pending and state.attempts == 0 and state.last_attempt_error == ""
    assert state.next_attempt_at <= timezone.now()


def test_send_now_sends_again_what_staff_deleted_from_jira(incident, two_sites):
    a, _ = two_sites
    synced(incident, a, present_in_jira=False, withheld=True)
    sync_actions.send_now("incident", [(incident.external_id, incident.workspace_id)])
    state = row(incident, a)
    assert state.pending and not state.withheld


def test_send_now_leaves_an_entity_in_sync_everywhere_alone(incident, two_sites):
    for site in two_sites:
        synced(incident, site)
    tokens = set(SyncState.objects.values_list("change_token", flat=True))
    result = sync_actions.send_now("incident", [(incident.external_id, incident.workspace_id)])
    assert (result.rows, result.already_in_sync) == (0, 1)
    assert set(SyncState.objects.values_list("change_token", flat=True)) == tokens


def test_send_now_from_the_list_says_how_many_rows_and_sites(admin_client, incident, two_sites):
    a, b = two_sites
    failed(incident, a)
    failed(incident, b)
    other = make_incident()
    response = run_action(admin_client, INCIDENTS, "send_to_jira_now", [incident, other])
    assert response.status_code == 302
    messages = messages_of(response)
    assert "Queued 1 incident on 2 Jira sites (2 site rows)" in messages[0]
    assert any("1 incident go to no Jira site" in m for m in messages)
    assert SyncState.objects.filter(kind="incident", pending=True, error="").count() == 2


def test_send_now_names_sites_that_will_not_receive_it_yet(admin_client, incident, two_sites):
    a, b = two_sites
    failed(incident, a)
    failed(incident, b)
    site_status(a, needs_attention=True)
    site_status(b, paused_until=timezone.now() + timedelta(minutes=10))
    response = run_action(admin_client, INCIDENTS, "send_to_jira_now", [incident])
    warning = next(m for m in messages_of(response) if m.startswith("Not sent yet"))
    assert str(a) in warning and str(b) in warning


# --- Resend everything ----------------------------------------------------------------------------


def test_resend_everything_marks_every_site_even_in_sync(admin_client, incident, two_sites):
    a, b = two_sites
    synced(incident, a)
    synced(incident, b)
    response = run_action(admin_client, INCIDENTS, "resend_everything_to_jira", [incident])
    assert (
        "Queued for resending 1 incident on 2 Jira sites (2 site rows)" in messages_of(response)[0]
    )
    assert all(s.pending for s in SyncState.objects.filter(kind="incident"))
    # The same version goes again: nothing bumped the sequence number.
    before = incident.update_sequence_number
    incident.refresh_from_db()
    assert incident.update_sequence_number == before


def test_resend_everything_on_reviews(admin_client):
    site = make_installation()
    review = make_review()
    review.workspace.link_site(site)
    synced(review, site, kind="review")
    run_action(admin_client, REVIEWS, "resend_everything_to_jira", [review])
    assert row(review, site, "review").pending


# --- Delete from Jira ---------------------------------------------------------------------------


def test_delete_from_jira_asks_first_and_changes_nothing(admin_client, incident, two_sites):
    a, b = two_sites
    synced(incident, a)
    synced(incident, b)
    response = run_action(admin_client, INCIDENTS, "delete_from_jira", [incident])
    assert response.status_code == 200
    html = response.content.decode()
    assert "Delete 1 incident from Jira?" in html
    assert f"{a}: 1 incident<" in html and f"{b}: 1 incident<" in html
    assert "stay in the portal" in html
    assert "next change sends them to Jira again" in html
    assert not SyncState.objects.filter(kind="incident", pending=True).exists()


def test_confirmed_delete_from_jira_queues_a_delete_on_every_site(
    admin_client, incident, two_sites
):
    a, b = two_sites
    synced(incident, a)
    synced(incident, b)
    response = confirm_action(admin_client, INCIDENTS, "delete_from_jira", [incident])
    assert response.status_code == 302
    assert "Queued the delete from Jira of 1 incident on 2 Jira sites" in messages_of(response)[0]
    for site in two_sites:
        state = row(incident, site)
        assert state.pending and state.withheld and state.present_in_jira
    assert type(incident).objects.filter(pk=incident.pk).exists()


def test_delete_from_jira_reaches_a_site_no_longer_linked(incident, two_sites):
    a, b = two_sites
    gone = make_installation()
    synced(incident, gone, present_in_jira=False, pending=True)  # a delete already on its way
    result = sync_actions.delete_from_jira(
        "incident", [(incident.external_id, incident.workspace_id)]
    )
    assert result.site_ids == {a.pk, b.pk, gone.pk}
    assert row(incident, gone).withheld


def test_the_next_edit_clears_a_delete_from_jira(incident, two_sites):
    sync_actions.delete_from_jira("incident", [(incident.external_id, incident.workspace_id)])
    incident.summary = "Back in Jira"
    incident.save()
    assert not SyncState.objects.filter(withheld=True).exists()
    assert SyncState.objects.filter(kind="incident", pending=True).count() == 2


def test_deleting_from_jira_what_goes_nowhere_queues_nothing(admin_client):
    incident = make_incident()
    response = run_action(admin_client, INCIDENTS, "delete_from_jira", [incident])
    assert "go to no Jira site, so there is nothing to delete" in response.content.decode()
    response = confirm_action(admin_client, INCIDENTS, "delete_from_jira", [incident])
    assert messages_of(response)[0].startswith("Nothing queued")
    assert not SyncState.objects.exists()


def test_the_confirmation_lists_at_most_100_and_counts_the_rest(admin_client):
    site = make_installation()
    incidents = [make_incident() for _ in range(103)]
    for incident in incidents:
        incident.workspace.link_site(site)
    html = run_action(admin_client, INCIDENTS, "delete_from_jira", incidents).content.decode()
    assert "… and 3 more" in html
    assert f"{site}: 103 incidents" in html
    assert html.count('name="_selected_action"') == 103


def test_delete_from_jira_of_all_filtered_rows_posts_back_the_filter_not_the_ids(
    admin_client, settings
):
    settings.DATA_UPLOAD_MAX_NUMBER_FIELDS = 20
    site = make_installation()
    incidents = [make_incident() for _ in range(30)]
    for incident in incidents:
        incident.workspace.link_site(site)
    untouched = make_incident()  # goes to no site: filtered out below
    url = INCIDENTS + "?jira_sync=pending"
    first = {"action": "delete_from_jira", "_selected_action": [str(incidents[0].pk)]}
    response = admin_client.post(url, {**first, "select_across": "1", "index": "0"})
    html = response.content.decode()
    assert "Delete 30 incidents from Jira?" in html
    assert html.count('name="_selected_action"') == 1
    assert 'name="select_across" value="1"' in html
    response = admin_client.post(url, {**first, "select_across": "1", "post": "yes"})
    assert response.status_code == 302
    assert SyncState.objects.filter(kind="incident", withheld=True).count() == 30
    assert not SyncState.objects.filter(external_id=untouched.external_id).exists()


# --- From an incident's own page ------------------------------------------------------------------


def test_buttons_on_the_incident_page_come_back_to_it(admin_client, incident, two_sites):
    failed(incident, two_sites[0])
    page = reverse("admin:incidents_incident_change", args=[incident.pk])
    response = run_action(
        admin_client, INCIDENTS, "send_to_jira_now", [incident], _jira_sync_from_change="1"
    )
    assert response.status_code == 302 and response.url == page
    response = run_action(
        admin_client, INCIDENTS, "delete_from_jira", [incident], _jira_sync_from_change="1"
    )
    assert 'name="_jira_sync_from_change"' in response.content.decode()
    response = confirm_action(
        admin_client, INCIDENTS, "delete_from_jira", [incident], _jira_sync_from_change="1"
    )
    assert response.url == page
    assert row(incident, two_sites[0]).withheld


# --- Who may --------------------------------------------------------------------------------------


def test_ops_staff_can_use_the_three_actions(ops_client, incident, two_sites):
    a, _ = two_sites
    failed(incident, a)
    run_action(ops_client, INCIDENTS, "send_to_jira_now", [incident])
    assert row(incident, a).pending and not row(incident, a).error
    run_action(ops_client, INCIDENTS, "resend_everything_to_jira", [incident])
    confirm_action(ops_client, INCIDENTS, "delete_from_jira", [incident])
    assert row(incident, a).withheld


def test_a_viewer_is_not_offered_the_actions_and_cannot_post_them(
    client, django_user_model, incident, two_sites
):
    a, _ = two_sites
    failed(incident, a)
    viewer = django_user_model.objects.create_user("viewer", is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_incident"))
    client.force_login(viewer)
    response = client.get(INCIDENTS)
    assert "send_to_jira_now" not in response.content.decode()
    confirm_action(client, INCIDENTS, "delete_from_jira", [incident])
    run_action(client, INCIDENTS, "send_to_jira_now", [incident])
    state = row(incident, a)
    assert state.error and not state.pending and not state.withheld


def test_deleting_incidents_in_the_portal_still_queues_their_delete(admin_client, two_sites):
    """The sync column's annotation must not get in the way of the admin's own delete."""
    incident = make_incident()
    for site in two_sites:
        incident.workspace.link_site(site)
        synced(incident, site)
    response = confirm_action(admin_client, INCIDENTS, "delete_selected", [incident])
    assert response.status_code == 302
    assert not type(incident).objects.filter(pk=incident.pk).exists()
    rows = SyncState.objects.filter(kind="incident", external_id=incident.external_id)
    assert rows.count() == 2 and all(r.pending and not r.withheld for r in rows)
