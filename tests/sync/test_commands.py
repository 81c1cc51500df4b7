"""The management commands of the sync: the worker and the full resend."""

import pytest
from django.core.management import CommandError, call_command

from incidents.models.outbox import SyncState
from tests.incidents.factories import make_incident, make_installation, make_workspace
from tests.sync.conftest import jira_view, portal_view

pytestmark = pytest.mark.django_db


def test_jira_sync_once_sends_what_is_due_and_exits(sim, site, capsys):
    workspace = make_workspace()
    make_incident(workspace)
    workspace.link_site(site)
    call_command("jira_sync", "--once", "--poll-interval", "0")
    assert jira_view(sim) == portal_view(site)
    assert "Sent 2 change(s)." in capsys.readouterr().out


def test_jira_resync_queues_every_linked_workspace_with_progress(capsys):
    site = make_installation()
    workspaces = [make_workspace() for _ in range(3)]
    for workspace in workspaces:
        make_incident(workspace)
        workspace.link_site(site)
    SyncState.objects.update(pending=False)
    call_command("jira_resync")
    out = capsys.readouterr().out
    assert "[3/3] 100%" in out
    assert SyncState.objects.filter(pending=True).count() == 6


def test_jira_resync_can_be_limited_to_one_site_and_workspace():
    site, other = make_installation(), make_installation()
    first, second = make_workspace(), make_workspace()
    for workspace in (first, second):
        make_incident(workspace)
        workspace.link_site(site)
        workspace.link_site(other)
    SyncState.objects.update(pending=False)
    call_command("jira_resync", "--site", site.client_key, "--workspace", first.external_id)
    assert set(
        SyncState.objects.filter(pending=True).values_list("installation_id", flat=True)
    ) == {site.pk}
    assert SyncState.objects.filter(pending=True).count() == 2


def test_jira_resync_refuses_an_unknown_site():
    with pytest.raises(CommandError, match="No Jira site with client key 'nope'"):
        call_command("jira_resync", "--site", "nope")


def test_jira_resync_says_when_nothing_is_linked():
    make_installation()
    with pytest.raises(CommandError, match="Nothing to resend"):
        call_command("jira_resync")
