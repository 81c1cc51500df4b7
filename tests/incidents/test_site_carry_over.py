"""Carrying a superseded site's workspace links over to the installation that replaced it: only
by staff's choice, only to the row that really replaced it, and recorded by the sync."""

import pytest
from django.contrib.auth.models import Group, Permission
from django.urls import reverse

from incidents.models import WorkspaceLink
from incidents.models.outbox import SyncState
from incidents.site_carry_over import CarryOverRefused, carry_over_links
from tests.incidents.factories import make_incident, make_installation, make_workspace

pytestmark = pytest.mark.django_db

SITES = reverse("admin:connect_installation_changelist")


@pytest.fixture
def reinstalled():
    """Site `old` with two linked workspaces, superseded by `new` (same cloudId, new key)."""
    old = make_installation(cloud_id="cloud-acme")
    workspaces = [make_workspace(), make_workspace()]
    for workspace in workspaces:
        workspace.link_site(old)
        make_incident(workspace)
    new = make_installation(cloud_id="cloud-acme", base_url=old.base_url)
    old.supersede(new)
    return old, new, workspaces


def linked_sites(workspace):
    return set(
        WorkspaceLink.objects.filter(workspace=workspace).values_list("installation_id", flat=True)
    )


def test_superseding_moves_nothing_by_itself(reinstalled):
    old, _, workspaces = reinstalled
    assert all(linked_sites(workspace) == {old.pk} for workspace in workspaces)


def test_carry_over_moves_every_link_and_the_sync_records_them(reinstalled, admin_user):
    old, new, workspaces = reinstalled
    SyncState.objects.all().delete()
    result = carry_over_links(old, new, by=admin_user)
    assert result.workspaces == 2
    for workspace in workspaces:
        assert linked_sites(workspace) == {new.pk}
        link = WorkspaceLink.objects.get(workspace=workspace)
        assert link.linked_by == admin_user
    pending_for_new = SyncState.objects.filter(installation=new, pending=True)
    assert {row.kind for row in pending_for_new} >= {"workspace", "incident"}


def test_carry_over_to_a_row_that_did_not_replace_it_is_refused(reinstalled):
    old, _, workspaces = reinstalled
    stranger = make_installation(cloud_id="cloud-other")
    with pytest.raises(CarryOverRefused, match="not the installation that replaced"):
        carry_over_links(old, stranger)
    assert all(linked_sites(workspace) == {old.pk} for workspace in workspaces)


def test_carry_over_from_a_current_row_is_refused(reinstalled):
    _, new, _ = reinstalled
    other = make_installation()
    with pytest.raises(CarryOverRefused, match="has not been superseded"):
        carry_over_links(new, other)


def test_carry_over_follows_a_chain_of_reinstalls(reinstalled):
    old, new, workspaces = reinstalled
    newest = make_installation(cloud_id="cloud-acme")
    new.supersede(newest)
    with pytest.raises(CarryOverRefused):
        carry_over_links(old, new)
    carry_over_links(old, newest)
    assert all(linked_sites(workspace) == {newest.pk} for workspace in workspaces)


def test_admin_action_carries_the_selected_rows_over(reinstalled, admin_client):
    old, new, workspaces = reinstalled
    response = admin_client.post(
        SITES,
        {"action": "carry_over_links_action", "_selected_action": [old.pk]},
        follow=True,
    )
    assert "2 workspace link(s) moved" in response.content.decode()
    assert all(linked_sites(workspace) == {new.pk} for workspace in workspaces)


def test_admin_action_without_link_rights_moves_nothing(reinstalled, client, django_user_model):
    old, _, workspaces = reinstalled
    viewer = django_user_model.objects.create_user("viewer", is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_installation"))
    client.force_login(viewer)
    response = client.post(
        SITES, {"action": "carry_over_links_action", "_selected_action": [old.pk]}, follow=True
    )
    assert "needs the rights to add and delete linked Jira sites" in response.content.decode()
    assert all(linked_sites(workspace) == {old.pk} for workspace in workspaces)


def test_ops_staff_may_carry_links_over(reinstalled, client, django_user_model):
    old, new, workspaces = reinstalled
    staff = django_user_model.objects.create_user("ops", is_staff=True)
    staff.groups.add(Group.objects.get(name="Ops staff"))
    client.force_login(staff)
    client.post(SITES, {"action": "carry_over_links_action", "_selected_action": [old.pk]})
    assert all(linked_sites(workspace) == {new.pk} for workspace in workspaces)
