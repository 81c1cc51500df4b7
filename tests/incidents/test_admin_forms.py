"""The admin add and change forms refuse what Jira would refuse, with field-level messages."""

import pytest
from django.urls import reverse

from incidents.models import Incident, PostIncidentReview
from tests.forms import inline

from .factories import make_container, make_incident, make_review, make_workspace

pytestmark = pytest.mark.django_db

INCIDENT_ADD = reverse("admin:incidents_incident_add")
REVIEW_ADD = reverse("admin:incidents_postincidentreview_add")


def incident_post(workspace, containers, associations=(), **overrides) -> dict:
    data = {
        "external_id": "INC-100",
        "workspace": str(workspace.pk),
        "summary": "Checkout errors",
        "severity": "P2",
        "status": "open",
        "url": "https://ops.example.com/incidents/INC-100",
        "created_date_0": "2026-01-20",
        "created_date_1": "23:27:25",
        "affected_containers": [str(c.pk) for c in containers],
        "description": "Customers see **500s**.",
        **inline("associations", list(associations)),
        **inline("updates", []),
    }
    data.update(overrides)
    return data


def form_errors(response) -> dict:
    assert response.status_code == 200, "the form should be shown again with errors"
    return response.context["adminform"].form.errors


@pytest.fixture
def workspace():
    return make_workspace(name="Payments")


@pytest.fixture
def container(workspace):
    return make_container(workspace, name="Checkout")


def test_a_valid_incident_is_created_with_containers_and_associations(
    admin_client, workspace, container
):
    rows = [{"association_type": "issueIdOrKeys", "value": "ops-7"}]
    response = admin_client.post(INCIDENT_ADD, incident_post(workspace, [container], rows))
    assert response.status_code == 302
    incident = Incident.objects.get(external_id="INC-100")
    assert list(incident.affected_containers.all()) == [container]
    assert list(incident.associations.values_list("value", flat=True)) == ["OPS-7"]
    incident.full_clean()
    incident.full_clean_relations()


def test_summary_over_255_characters_shows_the_limit_and_length(admin_client, workspace, container):
    response = admin_client.post(
        INCIDENT_ADD, incident_post(workspace, [container], summary="s" * 300)
    )
    assert form_errors(response)["summary"] == [
        "Ensure this value has at most 255 characters (it has 300)."
    ]
    assert not Incident.objects.exists()


def test_description_over_5000_characters_is_refused(admin_client, workspace, container):
    data = incident_post(workspace, [container], description="d" * 5001)
    assert form_errors(admin_client.post(INCIDENT_ADD, data))["description"] == [
        "Ensure this value has at most 5000 characters (it has 5001)."
    ]


def test_no_affected_container_is_refused_with_jiras_range(admin_client, workspace):
    response = admin_client.post(INCIDENT_ADD, incident_post(workspace, []))
    assert form_errors(response)["affected_containers"] == [
        "Select at least 1 affected container: Jira needs 1 to 100, and none is selected."
    ]
    assert b"Jira needs 1 to 100" in response.content


def test_more_than_100_affected_containers_are_refused(admin_client, workspace):
    containers = [make_container(workspace) for _ in range(101)]
    response = admin_client.post(INCIDENT_ADD, incident_post(workspace, containers))
    assert "101 are selected" in form_errors(response)["affected_containers"][0]


def test_container_of_another_workspace_is_refused(admin_client, workspace, container):
    stranger = make_container(make_workspace(name="Web"), name="Homepage")
    response = admin_client.post(INCIDENT_ADD, incident_post(workspace, [container, stranger]))
    message = form_errors(response)["affected_containers"][0]
    assert "Homepage" in message and "“Web”" in message and "Checkout" not in message


@pytest.mark.parametrize("bad", ["INC 100", "../admin", "inc/1"])
def test_incident_id_breaking_jiras_url_rules_is_refused(admin_client, workspace, container, bad):
    response = admin_client.post(
        INCIDENT_ADD, incident_post(workspace, [container], external_id=bad)
    )
    assert "goes into Jira URLs" in form_errors(response)["external_id"][0]


@pytest.mark.parametrize("bad", ["not a url", "ftp://files.example.com/x", "https://x.example/{a}"])
def test_invalid_incident_url_is_refused(admin_client, workspace, container, bad):
    response = admin_client.post(INCIDENT_ADD, incident_post(workspace, [container], url=bad))
    assert "url" in form_errors(response)


def test_duplicate_incident_id_is_refused(admin_client, workspace, container):
    make_incident(external_id="INC-100")
    response = admin_client.post(INCIDENT_ADD, incident_post(workspace, [container]))
    assert form_errors(response)["external_id"] == [
        "Incident with this Incident id already exists."
    ]


def test_invalid_issue_key_in_the_inline_is_refused_on_its_row(admin_client, workspace, container):
    rows = [{"association_type": "issueIdOrKeys", "value": "not a key"}]
    response = admin_client.post(INCIDENT_ADD, incident_post(workspace, [container], rows))
    assert response.status_code == 200
    formset = response.context["inline_admin_formsets"][0].formset
    assert "Jira issue key" in formset.forms[0].errors["value"][0]
    assert not Incident.objects.exists()


def test_the_same_issue_twice_in_different_case_is_refused(admin_client, workspace, container):
    rows = [
        {"association_type": "issueIdOrKeys", "value": "OPS-1"},
        {"association_type": "issueIdOrKeys", "value": "ops-1"},
    ]
    response = admin_client.post(INCIDENT_ADD, incident_post(workspace, [container], rows))
    formset = response.context["inline_admin_formsets"][0].formset
    assert formset.forms[1].errors["value"] == ["OPS-1 is listed twice."]


def test_more_than_100_associations_are_refused(admin_client, workspace, container):
    rows = [{"association_type": "issueIdOrKeys", "value": f"OPS-{n}"} for n in range(1, 102)]
    response = admin_client.post(INCIDENT_ADD, incident_post(workspace, [container], rows))
    formset = response.context["inline_admin_formsets"][0].formset
    assert (
        "at most 100 associated issues and services (this has 101)"
        in (formset.non_form_errors()[0])
    )


def test_change_form_keeps_ids_fixed_and_shows_sequence_and_preview(admin_client):
    incident = make_incident(description="# Impact\n\n<script>alert(1)</script>**bold**")
    response = admin_client.get(reverse("admin:incidents_incident_change", args=[incident.pk]))
    form = response.context["adminform"].form
    assert "external_id" not in form.fields and "workspace" not in form.fields
    assert "update_sequence_number" not in form.fields
    html = response.content.decode()
    assert str(incident.update_sequence_number) in html
    assert "<h1>Impact</h1>" in html and "<strong>bold</strong>" in html
    assert "<script>alert(1)</script>" not in html


def test_editing_an_incident_bumps_its_sequence(admin_client, workspace, container):
    incident = make_incident(workspace=workspace, containers=[container], external_id="INC-100")
    before = incident.update_sequence_number
    data = incident_post(workspace, [container], summary="Now resolved", status="resolved")
    for key in ("external_id", "workspace", "created_date_0", "created_date_1"):
        data.pop(key)
    response = admin_client.post(
        reverse("admin:incidents_incident_change", args=[incident.pk]), data
    )
    assert response.status_code == 302
    incident.refresh_from_db()
    assert incident.status == "resolved" and incident.update_sequence_number > before


def test_changing_containers_to_another_workspace_is_refused_on_edit(
    admin_client, workspace, container
):
    incident = make_incident(workspace=workspace, containers=[container])
    stranger = make_container(make_workspace())
    data = incident_post(workspace, [stranger])
    response = admin_client.post(
        reverse("admin:incidents_incident_change", args=[incident.pk]), data
    )
    assert (
        "Only containers of workspace “Payments”" in form_errors(response)["affected_containers"][0]
    )


def test_mark_resolved_action_bumps_sequences(admin_client):
    incidents = [make_incident(), make_incident()]
    response = admin_client.post(
        reverse("admin:incidents_incident_changelist"),
        {"action": "mark_resolved", "_selected_action": [str(i.pk) for i in incidents]},
    )
    assert response.status_code == 302
    for incident in incidents:
        before = incident.update_sequence_number
        incident.refresh_from_db()
        assert incident.status == "resolved" and incident.update_sequence_number > before


def review_post(workspace, incidents, **overrides) -> dict:
    data = {
        "external_id": "PIR-1",
        "workspace": str(workspace.pk),
        "summary": "PIR - Checkout errors",
        "status": "in progress",
        "url": "https://ops.example.com/reviews/PIR-1",
        "created_date_0": "2026-01-21",
        "created_date_1": "10:00:00",
        "incidents": [str(i.pk) for i in incidents],
        "description": "",
        **inline("associations", []),
        **inline("action_items", []),
    }
    data.update(overrides)
    return data


def test_a_valid_review_is_created(admin_client, workspace):
    incident = make_incident(workspace=workspace)
    response = admin_client.post(REVIEW_ADD, review_post(workspace, [incident]))
    assert response.status_code == 302
    assert list(PostIncidentReview.objects.get().incidents.all()) == [incident]


def test_review_reviewing_no_incident_is_refused(admin_client, workspace):
    response = admin_client.post(REVIEW_ADD, review_post(workspace, []))
    assert form_errors(response)["incidents"] == [
        "Select at least 1 reviewed incident: Jira needs 1 to 100, and none is selected."
    ]


def test_review_of_another_workspaces_incident_is_refused(admin_client, workspace):
    response = admin_client.post(REVIEW_ADD, review_post(workspace, [make_incident()]))
    assert "Only incidents of workspace “Payments”" in form_errors(response)["incidents"][0]


def test_review_status_outside_jiras_enum_is_refused(admin_client, workspace):
    incident = make_incident(workspace=workspace)
    response = admin_client.post(REVIEW_ADD, review_post(workspace, [incident], status="open"))
    assert "status" in form_errors(response)


def test_review_change_form_shows_incidents_by_autocomplete(admin_client):
    review = make_review()
    response = admin_client.get(
        reverse("admin:incidents_postincidentreview_change", args=[review.pk])
    )
    assert 'data-field-name="incidents"' in response.content.decode()
    assert "admin-autocomplete" in response.content.decode()


def test_container_autocomplete_finds_containers_by_name(admin_client, container):
    response = admin_client.get(
        reverse("admin:autocomplete"),
        {
            "term": "check",
            "app_label": "incidents",
            "model_name": "incident",
            "field_name": "affected_containers",
        },
    )
    assert response.status_code == 200
    assert [r["id"] for r in response.json()["results"]] == [str(container.pk)]


def test_browser_line_breaks_count_as_one_character(admin_client, workspace, container):
    description = "line\r\n" * 1000  # 6,000 characters as sent, 5,000 as stored and sent to Jira
    response = admin_client.post(
        INCIDENT_ADD, incident_post(workspace, [container], description=description)
    )
    assert response.status_code == 302
    assert Incident.objects.get().description == ("line\n" * 1000).strip()
