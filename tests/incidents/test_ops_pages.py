"""The home page and an incident's page: who may see them, what they show, the quick actions."""

from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from django.urls import resolve, reverse
from django.utils import timezone

from connect.descriptor import operations_module
from incidents.models import Incident, IncidentUpdate, PostIncidentReview, ReviewActionItem
from incidents.models.outbox import SiteSyncStatus, SyncState
from incidents.workflow import declare_incident
from tests.incidents.factories import (
    make_container,
    make_incident,
    make_installation,
    make_review,
    make_workspace,
)

pytestmark = pytest.mark.django_db

HOME = reverse("home")


def page(external_id: str) -> str:
    return reverse("incident-page", args=[external_id])


def test_anonymous_visitors_are_sent_to_the_login(client):
    incident = make_incident()
    for url in (HOME, page(incident.external_id)):
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("admin:login") + "?next=")


def test_logged_in_non_staff_are_sent_to_the_login(client, django_user_model):
    client.force_login(django_user_model.objects.create_user("customer", password="x"))
    response = client.get(HOME)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))


def test_the_home_page_lists_open_incidents_worst_first_with_age_and_commander(
    ops_client, ops_user
):
    workspace = make_workspace()
    minor = declare_incident(workspace, "Slow avatars", by=ops_user, severity="P4")
    major = declare_incident(workspace, "Checkout down", by=ops_user, severity="P1")
    resolved = make_incident(workspace, status="resolved", summary="Old and done")
    response = ops_client.get(HOME)
    html = response.content.decode()
    shown = [i.external_id for i in response.context["open_incidents"]]
    assert shown == [major.external_id, minor.external_id]
    assert resolved.summary not in html
    assert "opsy" in html
    assert response.context["by_severity"] == [("P1", "P1 (highest)", 1), ("P4", "P4", 1)]


def test_the_home_page_shows_the_mean_time_to_resolve(ops_client):
    now = timezone.now()
    for hours in (1, 3):
        make_incident(status="resolved", created_date=now - timedelta(hours=hours))
    html = ops_client.get(HOME).content.decode()
    # Resolved just now: 1 h and 3 h after they were raised; the mean is 2 h.
    assert 'id="mttr-value">2 h 00 min<' in html
    assert "over 2 resolved incidents" in html


def test_a_red_banner_on_home_and_admin_index_when_a_site_needs_attention(ops_client):
    healthy = make_installation()
    broken = make_installation()
    SiteSyncStatus.objects.create(installation=broken, needs_attention=True, last_error="401")
    for url in (HOME, reverse("admin:index")):
        html = ops_client.get(url).content.decode()
        assert 'id="jira-sync-banner"' in html, url
        assert f"{broken}: needs attention" in html
        assert f"{healthy}:" not in html


def test_a_site_with_a_change_waiting_to_retry_raises_the_banner(ops_client):
    site = make_installation()
    SyncState.objects.create(
        installation=site,
        kind="incident",
        external_id="INC-9",
        pending=True,
        last_attempt_error="Jira answered 503",
    )
    html = ops_client.get(reverse("admin:index")).content.decode()
    assert f"Jira sync is failing on 1 site: {site}: retrying" in html


def test_no_banner_when_every_site_is_healthy(ops_client):
    make_installation()
    for url in (HOME, reverse("admin:index")):
        assert 'id="jira-sync-banner"' not in ops_client.get(url).content.decode()


def test_the_home_page_lists_recent_reviews_with_their_open_actions(ops_client):
    review = make_review(summary="Checkout review")
    ReviewActionItem.objects.create(review=review, what="Add a retry budget")
    html = ops_client.get(HOME).content.decode()
    assert "Checkout review" in html
    assert "1 open of 1" in html


def test_the_incident_page_shows_roles_containers_issues_timeline_and_sync(ops_client, ops_user):
    workspace = make_workspace()
    site = make_installation()
    workspace.link_site(site)
    container = make_container(workspace, name="Ledger")
    incident = declare_incident(
        workspace, "Ledger lag", by=ops_user, severity="P2", containers=[container]
    )
    incident.responders.add(ops_user)
    incident.associations.create(value="OPS-12")
    html = ops_client.get(page(incident.external_id)).content.decode()
    for text in ("Ledger lag", "P2", "opsy", "Ledger", "OPS-12", "Declared", "On 1 Jira site"):
        assert text in html, text


def test_a_note_is_added_to_the_timeline_by_its_author(ops_client, ops_user):
    incident = make_incident()
    response = ops_client.post(
        reverse("incident-add-note", args=[incident.external_id]),
        {"message": "Rolled back\r\nthe deploy"},
    )
    assert response.status_code == 302
    note = incident.updates.get(kind=IncidentUpdate.Kind.NOTE)
    assert (note.message, note.author) == ("Rolled back\nthe deploy", ops_user)


def test_an_empty_note_is_refused_and_nothing_is_added(ops_client):
    incident = make_incident()
    response = ops_client.post(
        reverse("incident-add-note", args=[incident.external_id]), {"message": "   "}
    )
    assert response.status_code == 400
    assert "The note is empty" in response.content.decode()
    assert not incident.updates.exists()


def test_resolving_from_the_page_records_who_and_stamps_the_time(ops_client, ops_user):
    incident = make_incident()
    before = incident.update_sequence_number
    response = ops_client.post(
        reverse("incident-action", args=[incident.external_id]), {"action": "resolve"}
    )
    assert response.status_code == 302
    incident.refresh_from_db()
    assert incident.status == "resolved" and incident.resolved_at is not None
    assert incident.update_sequence_number > before
    entry = incident.updates.get(kind=IncidentUpdate.Kind.STATUS)
    assert (entry.old_value, entry.new_value, entry.author) == ("open", "resolved", ops_user)
    html = ops_client.get(page(incident.external_id)).content.decode()
    assert 'id="time-to-resolve"' in html


def test_changing_the_severity_from_the_page_is_in_the_timeline(ops_client, ops_user):
    incident = make_incident(severity="P3")
    ops_client.post(
        reverse("incident-action", args=[incident.external_id]),
        {"action": "severity", "severity": "P1"},
    )
    entry = incident.updates.get(kind=IncidentUpdate.Kind.SEVERITY)
    assert (entry.old_value, entry.new_value, entry.author) == ("P3", "P1", ops_user)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"action": "severity", "severity": "P9"}, "Unknown severity &#x27;P9&#x27;"),
        (
            {"action": "explode"},
            "Unknown action &#x27;explode&#x27;: resolve, reopen, severity or command.",
        ),
    ],
)
def test_a_bad_quick_action_is_refused_and_changes_nothing(ops_client, data, message):
    incident = make_incident(severity="P3")
    before = incident.update_sequence_number
    response = ops_client.post(reverse("incident-action", args=[incident.external_id]), data)
    assert response.status_code == 400
    assert message in response.content.decode()
    incident.refresh_from_db()
    assert (incident.severity, incident.update_sequence_number) == ("P3", before)
    assert not incident.updates.exists()


def test_viewers_without_change_rights_cannot_resolve(client, django_user_model):
    viewer = django_user_model.objects.create_user("viewer", password="x", is_staff=True)
    client.force_login(viewer)
    incident = make_incident()
    response = client.post(
        reverse("incident-action", args=[incident.external_id]), {"action": "resolve"}
    )
    assert response.status_code == 403
    assert "You may not change incidents." in response.content.decode()
    incident.refresh_from_db()
    assert incident.status == "open"


def test_the_quick_actions_answer_only_post(ops_client):
    incident = make_incident()
    assert (
        ops_client.get(reverse("incident-action", args=[incident.external_id])).status_code == 405
    )


def test_the_write_review_link_opens_a_review_filled_in_for_the_incident(ops_client, settings):
    settings.CONNECT_BASE_URL = "https://ops.example.com"
    incident = make_incident(external_id="INC-7", summary="Ledger lag")
    response = ops_client.get(
        reverse("admin:incidents_postincidentreview_add") + f"?incident={incident.pk}"
    )
    initial = response.context["adminform"].form.initial
    assert initial["external_id"] == "PIR-INC-7"
    assert initial["summary"] == "Review: Ledger lag"
    assert initial["incidents"] == [incident.pk]
    assert initial["url"] == "https://ops.example.com/incidents/INC-7/"


def test_the_admin_timeline_adds_a_note_by_the_saving_user(admin_client, admin_user):
    incident = make_incident()
    change = reverse("admin:incidents_incident_change", args=[incident.pk])
    form = admin_client.get(change).context["adminform"].form
    data = {
        name: form[name].value()
        for name in form.fields
        if form[name].value() is not None and name != "created_date"
    }
    data["affected_containers"] = [str(c.pk) for c in incident.affected_containers.all()]
    data["responders"] = []
    for prefix, rows in (("associations", "0"), ("updates", "1")):
        data.update(
            {
                f"{prefix}-TOTAL_FORMS": rows,
                f"{prefix}-INITIAL_FORMS": "0",
                f"{prefix}-MIN_NUM_FORMS": "0",
                f"{prefix}-MAX_NUM_FORMS": "1000",
            }
        )
    data["updates-0-message"] = "Paged the database team"
    response = admin_client.post(change, data)
    assert response.status_code == 302
    note = incident.updates.get(kind=IncidentUpdate.Kind.NOTE)
    assert (note.message, note.author) == ("Paged the database team", admin_user)


def test_mark_resolved_in_the_list_records_each_incident_in_its_timeline(admin_client, admin_user):
    first, second = make_incident(), make_incident()
    admin_client.post(
        reverse("admin:incidents_incident_changelist"),
        {"action": "mark_resolved", "_selected_action": [first.pk, second.pk]},
    )
    for incident in (first, second):
        entry = incident.updates.get(kind=IncidentUpdate.Kind.STATUS)
        assert (entry.new_value, entry.author) == ("resolved", admin_user)
    assert set(Incident.objects.values_list("status", flat=True)) == {"resolved"}


def test_an_incident_without_a_review_offers_to_write_one(ops_client):
    incident = make_incident()
    html = ops_client.get(page(incident.external_id)).content.decode()
    assert 'id="write-review"' in html
    assert PostIncidentReview.objects.count() == 0


def test_the_modules_home_url_leads_to_the_home_page(ops_client, settings):
    settings.CONNECT_BASE_URL = "https://ops.example.com"
    home_url = operations_module()["homeUrl"]
    assert home_url == "https://ops.example.com/"
    assert resolve(urlsplit(home_url).path).url_name == "home"
    assert ops_client.get(urlsplit(home_url).path).status_code == 200


def test_taking_command_is_recorded_with_the_old_and_new_commander(
    ops_client, ops_user, django_user_model
):
    former = django_user_model.objects.create_user("former", password="x", is_staff=True)
    incident = make_incident(commander=former)
    html = ops_client.get(page(incident.external_id)).content.decode()
    assert 'id="take-command"' in html
    ops_client.post(reverse("incident-action", args=[incident.external_id]), {"action": "command"})
    incident.refresh_from_db()
    assert incident.commander == ops_user
    entry = incident.updates.get(kind=IncidentUpdate.Kind.COMMANDER)
    assert (entry.old_value, entry.new_value, entry.author) == ("former", "opsy", ops_user)
    assert 'id="take-command"' not in ops_client.get(page(incident.external_id)).content.decode()
