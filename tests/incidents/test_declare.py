"""Declaring an incident from the admin in one short form: defaults, ids, refusals."""

import pytest
from django.urls import reverse

from incidents.models import Incident, IncidentUpdate
from incidents.workflow import declare_incident, last_workspace_of
from tests.incidents.factories import make_container, make_workspace

pytestmark = pytest.mark.django_db

DECLARE = reverse("admin:incidents_incident_declare")


def test_the_declare_form_preselects_p3_and_the_users_last_workspace(ops_client, ops_user):
    make_workspace(name="Alpha")
    payments = make_workspace(name="Payments")
    declare_incident(payments, "Earlier outage", by=ops_user)
    form = ops_client.get(DECLARE).context["form"]
    assert form["severity"].value() == Incident.Severity.P3
    assert form["workspace"].value() == payments.pk


def test_a_user_who_never_declared_gets_the_first_workspace_by_name(ops_user):
    make_workspace(name="Zulu")
    alpha = make_workspace(name="Alpha")
    assert last_workspace_of(ops_user) == alpha


def test_only_a_summary_is_typed_to_declare(ops_client, ops_user, settings):
    settings.CONNECT_BASE_URL = "https://ops.example.com"
    workspace = make_workspace(incident_prefix="PAY")
    page = ops_client.get(DECLARE).context["form"]
    data = {name: page[name].value() for name in ("severity",)}
    data["workspace"] = str(workspace.pk)
    data["summary"] = "Card payments fail"
    response = ops_client.post(DECLARE, data)
    incident = Incident.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("incident-page", args=["PAY-1"])
    assert (incident.external_id, incident.severity, incident.commander) == (
        "PAY-1",
        "P3",
        ops_user,
    )
    assert incident.url == "https://ops.example.com/incidents/PAY-1/"
    assert list(incident.updates.values_list("kind", flat=True)) == [IncidentUpdate.Kind.DECLARED]


def test_declaring_with_containers_affects_them(ops_client):
    workspace = make_workspace()
    first, second = make_container(workspace), make_container(workspace)
    ops_client.post(
        DECLARE,
        {
            "summary": "Search slow",
            "severity": "P2",
            "workspace": str(workspace.pk),
            "containers": [str(first.pk), str(second.pk)],
        },
    )
    assert set(Incident.objects.get().affected_containers.all()) == {first, second}


def test_an_empty_summary_is_refused_and_nothing_is_declared(ops_client):
    workspace = make_workspace()
    response = ops_client.post(
        DECLARE, {"summary": "  ", "severity": "P3", "workspace": str(workspace.pk)}
    )
    assert response.status_code == 400
    assert response.context["form"].errors["summary"] == ["This field is required."]
    assert not Incident.objects.exists()
    workspace.refresh_from_db()
    assert workspace.incident_counter == 0


def test_a_container_of_another_workspace_is_refused_by_name(ops_client):
    workspace, other = make_workspace(name="Payments"), make_workspace(name="Search")
    stranger = make_container(other, name="Indexer")
    response = ops_client.post(
        DECLARE,
        {
            "summary": "Search slow",
            "severity": "P2",
            "workspace": str(workspace.pk),
            "containers": [str(stranger.pk)],
        },
    )
    assert response.status_code == 400
    errors = response.context["form"].non_field_errors()
    assert "Only containers of workspace “Payments”" in errors[0]
    assert "Indexer" in errors[0]
    assert not Incident.objects.exists()


def test_the_admin_index_and_the_incident_list_lead_to_the_declare_form(ops_client):
    for page in (reverse("admin:index"), reverse("admin:incidents_incident_changelist")):
        html = ops_client.get(page).content.decode()
        assert f'href="{DECLARE}"' in html, page


def test_someone_without_add_rights_cannot_declare(client, django_user_model):
    viewer = django_user_model.objects.create_user("viewer", password="x", is_staff=True)
    client.force_login(viewer)
    workspace = make_workspace()
    response = client.post(DECLARE, {"summary": "x", "severity": "P3", "workspace": workspace.pk})
    assert response.status_code == 403
    assert not Incident.objects.exists()
