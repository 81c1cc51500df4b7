"""Jira sites in the admin: read-only, never the secret, with the workspaces linked to each."""

import pytest
from django.urls import reverse

from incidents.models import WorkspaceLink
from tests.forms import inline

from .factories import make_installation, make_workspace

pytestmark = pytest.mark.django_db


def test_installation_page_lists_linked_workspaces_and_never_the_secret(admin_client):
    site = make_installation(shared_secret_encrypted="CANARY-ENCRYPTED-SECRET")
    make_workspace(name="Payments platform").link_site(site)
    for url in (
        reverse("admin:connect_installation_changelist"),
        reverse("admin:connect_installation_change", args=[site.pk]),
    ):
        html = admin_client.get(url).content.decode()
        assert "CANARY-ENCRYPTED-SECRET" not in html
        assert "shared_secret" not in html
    change = admin_client.get(reverse("admin:connect_installation_change", args=[site.pk]))
    assert "Payments platform" in change.content.decode()


def test_installation_admin_lets_nobody_add_change_or_delete(admin_client):
    site = make_installation()
    assert admin_client.get(reverse("admin:connect_installation_add")).status_code == 403
    response = admin_client.post(
        reverse("admin:connect_installation_change", args=[site.pk]), {"client_key": "hijacked"}
    )
    assert response.status_code == 403
    site.refresh_from_db()
    assert site.client_key != "hijacked"


def test_installation_changelist_counts_linked_workspaces(admin_client):
    site = make_installation()
    for _ in range(2):
        make_workspace().link_site(site)
    response = admin_client.get(reverse("admin:connect_installation_changelist"))
    row = next(r for r in response.context["cl"].result_list if r.pk == site.pk)
    assert row.linked_workspace_total == 2


def workspace_post(workspace, links: list[dict], initial: int = 0) -> dict:
    return {
        "name": workspace.name,
        "url": workspace.url,
        "avatar_url": "",
        "incident_prefix": workspace.incident_prefix,
        **inline("links", links, initial),
    }


def test_staff_link_a_site_from_the_workspace_and_are_recorded(admin_client, admin_user):
    workspace, site = make_workspace(), make_installation()
    response = admin_client.post(
        reverse("admin:incidents_workspace_change", args=[workspace.pk]),
        workspace_post(workspace, [{"installation": str(site.pk)}]),
    )
    assert response.status_code == 302
    link = WorkspaceLink.objects.get()
    assert (link.workspace, link.installation, link.linked_by) == (workspace, site, admin_user)


def test_staff_unlink_a_site_from_the_workspace(admin_client):
    workspace, site = make_workspace(), make_installation()
    link = workspace.link_site(site)
    data = workspace_post(
        workspace,
        [
            {
                "id": str(link.pk),
                "workspace": str(workspace.pk),
                "installation": str(site.pk),
                "DELETE": "on",
            }
        ],
        initial=1,
    )
    response = admin_client.post(
        reverse("admin:incidents_workspace_change", args=[workspace.pk]), data
    )
    assert response.status_code == 302
    assert not WorkspaceLink.objects.exists()


def test_linking_an_uninstalled_site_is_refused_in_the_admin(admin_client):
    workspace, site = make_workspace(), make_installation(state="uninstalled")
    response = admin_client.post(
        reverse("admin:incidents_workspace_change", args=[workspace.pk]),
        workspace_post(workspace, [{"installation": str(site.pk)}]),
    )
    assert response.status_code == 200
    formset = response.context["inline_admin_formsets"][0].formset
    assert "only an active Jira site can be linked" in formset.forms[0].errors["installation"][0]
    assert not WorkspaceLink.objects.exists()


def test_linking_the_same_site_twice_is_refused(admin_client):
    workspace, site = make_workspace(), make_installation()
    rows = [{"installation": str(site.pk)}, {"installation": str(site.pk)}]
    response = admin_client.post(
        reverse("admin:incidents_workspace_change", args=[workspace.pk]),
        workspace_post(workspace, rows),
    )
    assert response.status_code == 200
    assert not WorkspaceLink.objects.exists()
