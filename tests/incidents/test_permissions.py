"""The "Ops staff" group runs the incidents domain and nothing else."""

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse

from .factories import make_container, make_incident, make_installation, make_review

pytestmark = pytest.mark.django_db

DOMAIN_MODELS = ["workspace", "container", "incident", "postincidentreview"]


# Beyond the domain: looking at Jira sites, and resuming the sync to one (migration 0009).
SYNC_GRANTS = {("connect", "view_installation"), ("incidents", "change_sitesyncstatus")}
# The incident workflow (migration 0012): notes on timelines, the reviews' action items.
WORKFLOW_GRANTS = {
    ("incidents", "add_incidentupdate"),
    *(("incidents", f"{action}_reviewactionitem") for action in ("add", "change", "delete")),
}
# Creating and revoking API and webhook integrations (migration 0014); never deleting them.
INTEGRATION_GRANTS = {("incidents", "add_integration"), ("incidents", "change_integration")}


def test_the_group_manages_the_domain_and_may_only_view_anything_else():
    granted = set(
        Group.objects.get(name="Ops staff").permissions.values_list(
            "content_type__app_label", "codename"
        )
    )
    models = [*DOMAIN_MODELS, "workspacelink", "incidentassociation", "reviewassociation"]
    managed = {
        ("incidents", f"{action}_{model}")
        for model in models
        for action in ("add", "change", "delete", "view")
    }
    assert managed <= granted
    assert granted >= SYNC_GRANTS | WORKFLOW_GRANTS | INTEGRATION_GRANTS
    others = granted - managed - SYNC_GRANTS - WORKFLOW_GRANTS - INTEGRATION_GRANTS
    assert all(app == "incidents" and code.startswith("view_") for app, code in others), others


@pytest.mark.parametrize("model", DOMAIN_MODELS)
def test_ops_staff_open_every_domain_changelist_and_add_form(ops_client, model):
    assert ops_client.get(reverse(f"admin:incidents_{model}_changelist")).status_code == 200
    assert ops_client.get(reverse(f"admin:incidents_{model}_add")).status_code == 200


def test_ops_staff_open_an_incident_and_a_review(ops_client):
    review = make_review()
    incident = review.incidents.get()
    for url in (
        reverse("admin:incidents_incident_change", args=[incident.pk]),
        reverse("admin:incidents_postincidentreview_change", args=[review.pk]),
    ):
        assert ops_client.get(url).status_code == 200


def test_ops_staff_see_installations_but_cannot_change_them(ops_client):
    site = make_installation()
    assert ops_client.get(reverse("admin:connect_installation_changelist")).status_code == 200
    change = reverse("admin:connect_installation_change", args=[site.pk])
    assert ops_client.get(change).status_code == 200
    assert ops_client.post(change, {"client_key": "hijacked"}).status_code == 403
    delete = reverse("admin:connect_installation_delete", args=[site.pk])
    assert ops_client.post(delete, {"post": "yes"}).status_code == 403
    site.refresh_from_db()
    assert site.client_key != "hijacked"


def test_ops_staff_cannot_open_users_or_groups(ops_client, ops_user):
    assert ops_client.get(reverse("admin:auth_user_changelist")).status_code == 403
    assert ops_client.get(reverse("admin:auth_user_change", args=[ops_user.pk])).status_code == 403
    assert ops_client.get(reverse("admin:auth_group_changelist")).status_code == 403


def test_the_admin_index_shows_ops_staff_the_incidents_app_and_the_jira_sites(ops_client):
    apps = ops_client.get(reverse("admin:index")).context["app_list"]
    assert [app["app_label"] for app in apps] == ["connect", "incidents"]
    connect = next(app for app in apps if app["app_label"] == "connect")
    assert [model["object_name"] for model in connect["models"]] == ["Installation"]


def test_ops_staff_can_use_the_container_autocomplete(ops_client):
    container = make_container(name="Checkout")
    response = ops_client.get(
        reverse("admin:autocomplete"),
        {
            "term": "Check",
            "app_label": "incidents",
            "model_name": "incident",
            "field_name": "affected_containers",
        },
    )
    assert response.status_code == 200
    assert response.json()["results"][0]["id"] == str(container.pk)


def test_ops_staff_see_the_site_choices_when_linking_a_workspace(ops_client):
    site = make_installation(base_url="https://acme.atlassian.net")
    workspace = make_incident().workspace
    html = ops_client.get(reverse("admin:incidents_workspace_change", args=[workspace.pk]))
    assert "https://acme.atlassian.net" in html.content.decode()
    assert site.shared_secret_encrypted not in html.content.decode()


def test_staff_without_the_group_see_nothing(client, django_user_model):
    user = django_user_model.objects.create_user("plain", is_staff=True)
    client.force_login(user)
    assert client.get(reverse("admin:incidents_incident_changelist")).status_code == 403
