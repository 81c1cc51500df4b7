"""A workspace's link, unlink and its entities' resend on one site go in order: while a link or
unlink is still to be sent (or on its way), the workspace's entities wait for it, so a late
unlink can never delete what another worker sent after a relink.

Worker B's round runs while worker A's unlink request is on its way: A's session runs it just
before sending, in the same thread, so the interleaving is the same on every run and database.
"""

import pytest

from connect.client import JiraClient
from incidents.models.outbox import SyncState
from incidents.sync.relay import relay_once, relay_site
from tests.incidents.factories import make_container, make_incident, make_workspace
from tests.sync.conftest import drain, fast_config, jira_view, portal_view

pytestmark = pytest.mark.django_db

UNLINK = "/rest/operations/1.0/bulkByProperties"


def client_running_before(path: str, meanwhile: list):
    """A client factory whose sends run `meanwhile` (once) just before sending to `path`."""

    def factory(installation, *, send_wrapper, **options):
        def wrapper(request, send):
            if request.path_url.split("?")[0].endswith(path) and meanwhile:
                meanwhile.pop()()
            return send_wrapper(request, send)

        return JiraClient(installation, send_wrapper=wrapper, **options)

    return factory


def test_a_late_unlink_cannot_delete_what_another_worker_sent_after_a_relink(sim, site):
    workspace = make_workspace()
    container = make_container(workspace)
    incidents = [make_incident(workspace, containers=[container]) for _ in range(3)]
    workspace.link_site(site)
    drain()
    assert set(sim.incidents()) == {i.external_id for i in incidents}
    workspace.unlink_site(site)
    sent_by_b: list[dict] = []

    def relink_and_let_worker_b_run():
        workspace.link_site(site)
        before = len(sim.log.entries())
        relay_once(worker_id="worker-b", config=fast_config())
        sent_by_b.extend(sim.log.entries()[before:])

    config = fast_config(verify_delete_seconds=3600)
    relay_site(
        site,
        worker_id="worker-a",
        config=config,
        client_factory=client_running_before(UNLINK, [relink_and_let_worker_b_run]),
    )

    assert sent_by_b == []  # B left the entities alone while A's unlink was on its way
    assert sim.incidents() == {}  # A's unlink landed
    workspace_row = SyncState.objects.get(kind="workspace")
    assert workspace_row.pending  # the relink is still to be sent
    drain()
    assert sim.workspaces() == [workspace.external_id]
    assert jira_view(sim) == portal_view(site)
    assert set(sim.incidents()) == {i.external_id for i in incidents}


def test_entities_wait_while_their_workspace_link_is_backing_off(sim, site):
    workspace = make_workspace()
    make_incident(workspace)
    workspace.link_site(site)
    sim.faults.update(script=[{"status": 500}])
    relay_once(worker_id="w", config=fast_config(backoff_base=60, backoff_cap=60))
    link = SyncState.objects.get(kind="workspace")
    entity = SyncState.objects.get(kind="incident")
    assert link.pending and link.attempts == 1
    assert entity.pending and entity.attempts == 0
    assert entity.next_attempt_at == link.next_attempt_at  # due when the link is tried again
    assert [e["method"] for e in sim.log.entries()] == ["POST"]  # the link only
