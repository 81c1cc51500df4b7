"""The integrations in the admin: created with the token shown once, revoked, their recent
deliveries and refusals with the incidents they touched, and the copyable snippets."""

import re

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse

from incidents.models import Integration
from incidents.models.integrations import hash_token

from .conftest import TokenClient, body


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def ops_client(client, django_user_model):
    user = django_user_model.objects.create_user("opsy", password="pw", is_staff=True)
    user.groups.add(Group.objects.get(name="Ops staff"))
    client.force_login(user)
    return client


def add(ops_client, workspace, name="prom", kind="alertmanager"):
    return ops_client.post(
        reverse("admin:incidents_integration_add"),
        {
            "workspace": workspace.pk,
            "name": name,
            "kind": kind,
            "container_label": "service",
            "severity_mapping": '{"critical": "P1", "warning": "P3"}',
        },
    )


def test_ops_staff_create_an_integration_and_see_its_token_once(ops_client, workspace):
    response = add(ops_client, workspace)
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    html = response.content.decode()
    shown = re.search(r'<pre id="integration-token"[^>]*>([^<]+)</pre>', html)
    assert shown is not None
    token = shown.group(1)
    integration = Integration.objects.get(name="prom")
    assert integration.token_hash == hash_token(token)
    assert integration.created_by is not None
    assert integration.created_by.username == "opsy"
    assert f"credentials: {token}" in html  # the Alertmanager snippet, filled in
    assert "/api/v1/hooks/alertmanager/" in html
    change = ops_client.get(reverse("admin:incidents_integration_change", args=[integration.pk]))
    assert token not in change.content.decode()


def test_bad_mapping_is_refused_with_the_reason(ops_client, workspace):
    response = ops_client.post(
        reverse("admin:incidents_integration_add"),
        {
            "workspace": workspace.pk,
            "name": "x",
            "kind": "api",
            "container_label": "service",
            "severity_mapping": '{"critical": "P0"}',
        },
    )
    assert response.status_code == 200
    assert "&#x27;critical&#x27; maps to &#x27;P0&#x27;" in response.content.decode()
    assert not Integration.objects.exists()


def test_revoke_action_ends_the_token(ops_client, client, integration):
    record, token = integration
    response = ops_client.post(
        reverse("admin:incidents_integration_changelist"),
        {"action": "revoke_selected", "_selected_action": [record.pk]},
        follow=True,
    )
    assert "Revoked 1 integration(s)." in response.content.decode()
    assert TokenClient(client, token).get("/api/v1/incidents/").status_code == 401


def test_page_shows_recent_deliveries_refusals_touched_incidents_and_snippets(
    ops_client, api, integration, containers
):
    created = api.post("/api/v1/hooks/alertmanager/", body("alertmanager_firing")).json()
    api.post("/api/v1/hooks/alertmanager/", "{broken")
    record = integration[0]
    page = ops_client.get(reverse("admin:incidents_integration_change", args=[record.pk]))
    html = page.content.decode()
    table = html[html.index('id="recent-deliveries"') :]
    assert "Opened an incident" in table and "Refused" in table
    assert created["incidents"][0] in table
    assert "not valid JSON" in table
    assert 'id="alertmanager-snippet"' in html and "receivers:" in html
    assert 'id="grafana-snippet"' in html and "Authorization Header - Scheme: Bearer" in html
    changelist = ops_client.get(reverse("admin:incidents_integration_changelist"))
    assert changelist.status_code == 200
    deliveries = ops_client.get(
        reverse("admin:incidents_delivery_changelist"), {"outcome": "refused"}
    )
    assert deliveries.status_code == 200
    assert "not valid JSON" in deliveries.content.decode()


def test_deliveries_are_read_only_for_ops_staff(ops_client, api, containers):
    api.post("/api/v1/hooks/alertmanager/", body("alertmanager_firing"))
    assert ops_client.get(reverse("admin:incidents_delivery_add")).status_code == 403
