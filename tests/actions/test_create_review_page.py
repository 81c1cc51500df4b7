"""/reviews/create?incident-id=…&component-id=…: Jira's link to start a post-incident review."""

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse

from incidents.models import PostIncidentReview
from tests.incidents.factories import make_incident

from .support import make_container, make_workspace

pytestmark = pytest.mark.django_db
PAGE = "incidents-create-review"


@pytest.fixture
def incident(db):
    workspace = make_workspace("ws-pir")
    container = make_container(workspace, "checkout-api", "Checkout API")
    return make_incident(
        workspace=workspace, containers=[container], external_id="INC-42", summary="Checkout down"
    )


def url(incident_id="INC-42", component_id="checkout-api") -> str:
    query = f"incident-id={incident_id}"
    if component_id is not None:
        query += f"&component-id={component_id}"
    return f"{reverse(PAGE)}?{query}"


def form_data(response, **changes) -> dict:
    form = response.context["form"]
    data = {}
    for name, field in form.fields.items():
        if field.disabled:
            continue
        value = form[name].value()
        data[name] = [str(v) for v in value] if isinstance(value, list) else value
    data["url"] = "https://ops.example.com/reviews/INC-42"
    data["created_date"] = "2026-11-20 10:00:00"
    data.update(changes)
    return {key: value for key, value in data.items() if value is not None}


def test_anonymous_user_is_sent_to_the_admin_login(client, incident):
    response = client.get(url())
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))


def test_staff_without_the_add_permission_is_refused(client, django_user_model, incident):
    user = django_user_model.objects.create_user("viewer", password="unused", is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="view_postincidentreview"))
    client.force_login(user)
    assert client.get(url()).status_code == 403


def test_unknown_incident_is_a_404_page(ops_client, incident):
    assert ops_client.get(url("INC-404")).status_code == 404
    assert ops_client.get(reverse(PAGE)).status_code == 404


def test_form_is_prefilled_from_the_incident_and_component(ops_client, incident):
    response = ops_client.get(url())
    assert response.status_code == 200
    form = response.context["form"]
    assert form["summary"].value() == "Review of Checkout down"
    assert form["workspace"].value() == incident.workspace_id
    assert form["workspace"].field.disabled
    assert [int(pk) for pk in form["incidents"].value()] == [incident.pk]
    assert form["external_id"].value() == "pir-INC-42"
    assert "Checkout API (checkout-api)" in form["description"].value()
    assert b"Checkout down" in response.content


def test_unknown_component_is_ignored(ops_client, incident):
    response = ops_client.get(url(component_id="nope"))
    assert response.status_code == 200
    assert response.context["component"] is None
    assert not response.context["form"]["description"].value()


def test_suggested_id_skips_ids_already_taken(ops_client, incident):
    from tests.incidents.factories import make_review

    make_review(incidents=[incident], external_id="pir-INC-42")
    assert ops_client.get(url()).context["form"]["external_id"].value() == "pir-INC-42-2"


def test_long_summary_is_shortened_to_jiras_limit(ops_client, incident):
    incident.summary = "x" * 255
    incident.save()
    summary = ops_client.get(url()).context["form"]["summary"].value()
    assert len(summary) == 255
    assert summary.startswith("Review of xxx")


def test_saving_creates_the_review_and_opens_it_in_the_admin(ops_client, incident):
    response = ops_client.post(url(), form_data(ops_client.get(url())))
    review = PostIncidentReview.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse(
        "admin:incidents_postincidentreview_change", args=[review.pk]
    )
    assert review.external_id == "pir-INC-42"
    assert review.summary == "Review of Checkout down"
    assert review.workspace == incident.workspace
    assert list(review.incidents.all()) == [incident]
    review.full_clean_relations()


def test_workspace_cannot_be_changed_through_the_form(ops_client, incident):
    other = make_workspace("ws-other")
    data = form_data(ops_client.get(url()), workspace=str(other.pk))
    ops_client.post(url(), data)
    assert PostIncidentReview.objects.get().workspace == incident.workspace


def test_review_without_incidents_is_refused_by_the_model_rules(ops_client, incident):
    data = form_data(ops_client.get(url()))
    del data["incidents"]
    response = ops_client.post(url(), data)
    assert response.status_code == 200
    assert not PostIncidentReview.objects.exists()
    assert "reviewed incident" in response.content.decode()


def test_incident_of_another_workspace_cannot_be_added(ops_client, incident):
    stranger = make_incident(workspace=make_workspace("ws-else"), external_id="INC-7")
    data = form_data(ops_client.get(url()), incidents=[str(incident.pk), str(stranger.pk)])
    response = ops_client.post(url(), data)
    assert response.status_code == 200
    assert not PostIncidentReview.objects.exists()
    assert response.context["form"].errors["incidents"]


def test_invalid_review_id_is_refused_and_nothing_is_saved(ops_client, incident):
    data = form_data(ops_client.get(url()), external_id="has spaces")
    response = ops_client.post(url(), data)
    assert response.status_code == 200
    assert response.context["form"].errors["external_id"]
    assert not PostIncidentReview.objects.exists()
