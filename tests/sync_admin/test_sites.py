"""Jira sites in the admin: what each still has to receive, its last error, and "Resume
sending"; and the read-only list of outbox rows."""

from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse
from django.utils import timezone

from connect.models import Installation
from incidents.models.outbox import SiteSyncStatus, SyncState
from incidents.sync import staff as sync_actions
from tests.incidents.factories import make_incident, make_installation

from .support import SITES, failed, messages_of, retrying, run_action, site_status, synced

pytestmark = pytest.mark.django_db

SYNC_STATES = reverse("admin:incidents_syncstate_changelist")


@pytest.fixture
def busy_site():
    """A site with 3 incidents pending (one of them retrying), 2 refused and 1 in sync."""
    site = make_installation(base_url="https://busy.atlassian.net")
    incidents = [make_incident() for _ in range(6)]
    for incident in incidents:
        incident.workspace.link_site(site)
    SyncState.objects.filter(kind="workspace").update(pending=False, present_in_jira=True)
    retrying(incidents[0], site)
    failed(incidents[3], site)
    failed(incidents[4], site)
    synced(incidents[5], site)
    site_status(
        site,
        last_error="Jira answered 503 Service Unavailable",
        last_error_at=timezone.now() - timedelta(minutes=2),
        unknown_project_keys=["ABC", "OPS"],
    )
    return site


def page(client, url: str) -> str:
    """The page's HTML, with the no-break spaces of "2\xa0minutes" made plain."""
    response = client.get(url)
    assert response.status_code == 200
    return response.content.decode().replace("\xa0", " ")


def list_row(client, site) -> Any:
    """The site's row in the site list: an Installation with the list's sync annotations."""
    response = client.get(SITES)
    return next(r for r in response.context["cl"].result_list if r.pk == site.pk)


def test_the_site_list_shows_backlog_failed_and_last_error(admin_client, busy_site):
    row = list_row(admin_client, busy_site)
    assert (row.sync_backlog, row.sync_failed) == (3, 2)
    html = page(admin_client, SITES)
    assert "Jira answered 503 Service Unavailable" in html
    assert "2 minutes ago" in html
    assert "Sending" in html


def test_the_site_list_shows_a_site_waiting_for_staff(admin_client, busy_site):
    site_status(busy_site, needs_attention=True)
    assert "Needs attention" in admin_client.get(SITES).content.decode()


def test_the_site_page_spells_out_the_figures(admin_client, busy_site):
    site_status(busy_site, paused_until=timezone.now() + timedelta(minutes=20))
    html = page(admin_client, reverse("admin:connect_installation_change", args=[busy_site.pk]))
    assert "3 changes</a> waiting to be sent, 1 of them waiting to retry" in html
    assert "2 entitys" not in html and "2 entities</a> refused by Jira" in html
    assert "Jira answered 503 Service Unavailable" in html
    assert "<code>ABC</code>, <code>OPS</code>" in html
    assert "(in 19 minutes" in html or "(in 20 minutes" in html
    assert "Paused until" in html


def test_the_site_page_links_to_its_failed_rows(admin_client, busy_site):
    html = admin_client.get(
        reverse("admin:connect_installation_change", args=[busy_site.pk])
    ).content.decode()
    link = f"{SYNC_STATES}?installation__id__exact={busy_site.pk}&amp;status=failed"
    assert link in html
    response = admin_client.get(link.replace("&amp;", "&"))
    assert response.context["cl"].result_count == 2


def test_a_quiet_site_says_so(admin_client):
    site = make_installation()
    html = admin_client.get(
        reverse("admin:connect_installation_change", args=[site.pk])
    ).content.decode()
    assert "Nothing waiting to be sent." in html
    assert "None: Jira accepted everything sent." in html
    assert "Not paused." in html


# --- Resume sending -----------------------------------------------------------------------------


def test_resume_clears_the_pause_and_the_attention_and_makes_rows_due(busy_site):
    later = timezone.now() + timedelta(hours=1)
    site_status(busy_site, needs_attention=True, paused_until=later)
    SyncState.objects.filter(pending=True).update(next_attempt_at=later)
    result = sync_actions.resume_sending([busy_site.pk])
    status = SiteSyncStatus.objects.get(installation=busy_site)
    assert not status.needs_attention and status.paused_until is None
    assert status.last_error  # kept: staff still see what happened
    assert (result.sites, result.rows) == (1, 3)
    assert not SyncState.objects.filter(pending=True, next_attempt_at__gt=timezone.now()).exists()
    failed_rows = SyncState.objects.exclude(error="")
    assert failed_rows.count() == 2 and not failed_rows.filter(pending=True).exists()


def test_resume_from_the_site_page_comes_back_to_it(ops_client, busy_site):
    site_status(busy_site, needs_attention=True)
    page = reverse("admin:connect_installation_change", args=[busy_site.pk])
    html = ops_client.get(page).content.decode()
    assert 'value="resume_sending"' in html
    response = run_action(
        ops_client, SITES, "resume_sending", [busy_site], _jira_sync_from_change="1"
    )
    assert response.url == page
    assert "Resumed sending to 1 Jira site; 3 pending changes will be sent at once." in (
        messages_of(response)
    )
    assert not SiteSyncStatus.objects.get(installation=busy_site).needs_attention


def test_resuming_an_uninstalled_site_warns_that_it_still_gets_nothing(admin_client, busy_site):
    busy_site.state = Installation.State.UNINSTALLED
    busy_site.save()
    response = run_action(admin_client, SITES, "resume_sending", [busy_site])
    assert any("uninstalled or disabled" in m for m in messages_of(response))


# --- Who may --------------------------------------------------------------------------------------


def test_ops_staff_resume_but_cannot_change_or_delete_a_site(ops_client, busy_site):
    site_status(busy_site, needs_attention=True)
    actions = ops_client.get(SITES).context["action_form"].fields["action"].choices
    assert [name for name, _ in actions if name] == ["resume_sending", "carry_over_links_action"]
    change = reverse("admin:connect_installation_change", args=[busy_site.pk])
    assert ops_client.post(change, {"base_url": "https://evil.example"}).status_code == 403
    delete = reverse("admin:connect_installation_delete", args=[busy_site.pk])
    assert ops_client.post(delete, {"post": "yes"}).status_code == 403
    response = ops_client.post(
        SITES, {"action": "delete_selected", "_selected_action": [busy_site.pk], "post": "yes"}
    )
    assert Installation.objects.filter(pk=busy_site.pk).exists()
    busy_site.refresh_from_db()
    assert busy_site.base_url == "https://busy.atlassian.net"
    assert response.status_code in (200, 302)


def test_a_viewer_of_sites_without_the_resume_right_cannot_resume(
    client, django_user_model, busy_site
):
    site_status(busy_site, needs_attention=True)
    viewer = django_user_model.objects.create_user("siteviewer", is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_installation"))
    client.force_login(viewer)
    page = client.get(reverse("admin:connect_installation_change", args=[busy_site.pk]))
    assert 'value="resume_sending"' not in page.content.decode()
    run_action(client, SITES, "resume_sending", [busy_site])
    assert SiteSyncStatus.objects.get(installation=busy_site).needs_attention


# --- The outbox rows --------------------------------------------------------------------------


def test_ops_staff_read_the_outbox_rows_filtered_and_searched(ops_client, busy_site):
    other = make_installation()
    make_incident().workspace.link_site(other)
    response = ops_client.get(SYNC_STATES, {"installation__id__exact": busy_site.pk})
    assert response.context["cl"].result_count == 12  # 6 incidents and their 6 workspaces
    response = ops_client.get(SYNC_STATES, {"status": "failed"})
    assert response.context["cl"].result_count == 2
    response = ops_client.get(SYNC_STATES, {"status": "retrying", "kind__exact": "incident"})
    assert response.context["cl"].result_count == 1
    target = SyncState.objects.filter(installation=busy_site, kind="incident").first()
    assert target is not None
    response = ops_client.get(SYNC_STATES, {"q": target.external_id})
    assert [r.external_id for r in response.context["cl"].result_list] == [target.external_id]


def test_the_outbox_rows_are_read_only_even_for_superusers(admin_client, busy_site):
    state = SyncState.objects.exclude(error="").first()
    assert state is not None
    assert admin_client.get(reverse("admin:incidents_syncstate_add")).status_code == 403
    change = reverse("admin:incidents_syncstate_change", args=[state.pk])
    page = admin_client.get(change)
    assert page.status_code == 200 and "summary: too long" in page.content.decode()
    admin_client.post(change, {"error": "", "pending": "on"})
    delete = reverse("admin:incidents_syncstate_delete", args=[state.pk])
    assert admin_client.post(delete, {"post": "yes"}).status_code == 403
    state.refresh_from_db()
    assert state.error == "summary: too long" and not state.pending
