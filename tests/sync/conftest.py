"""Fixtures for the sync: a running jirasim with the portal installed in it, and a relay."""

from __future__ import annotations

from typing import Any

import pytest
from django.db.models import Count

from connect.descriptor import build_descriptor
from connect.models import Installation
from incidents.models import Incident, PostIncidentReview, Workspace
from incidents.sync.relay import RelayConfig, relay_once
from jirasim.testing import run_jirasim
from tests.incidents.factories import make_workspace


@pytest.fixture(autouse=True)
def verify_deletes_at_once(settings):
    settings.SYNC_VERIFY_DELETE_SECONDS = 0


@pytest.fixture
def sim():
    with run_jirasim(seed=1) as simulator:
        yield simulator


def install_into(simulator, site_name: str = "default") -> Installation:
    """Install the portal into a jirasim site without the callback, and store what the signed
    install would have stored (the lifecycle has its own end-to-end tests)."""
    if site_name != "default" and site_name not in simulator.sites:
        simulator.create_site(site_name)
    result = simulator.install_descriptor(build_descriptor(), site=site_name, notify=False)
    remote = result.installation
    installation = Installation(
        client_key=remote.client_key,
        app_key=remote.app_key,
        base_url=simulator.site_base_url(simulator.site(site_name)),
    )
    installation.set_shared_secret(remote.shared_secret)
    installation.save()
    return installation


@pytest.fixture
def site(sim) -> Installation:
    return install_into(sim)


def workspace_in_jira(site: Installation) -> Workspace:
    """A workspace linked to the site, its link delivered: its entities do not wait for it."""
    workspace = make_workspace()
    workspace.link_site(site)
    drain()
    return workspace


def fast_config(**overrides) -> RelayConfig:
    values: dict[str, Any] = dict(
        lease_seconds=30,
        batch_size=1000,
        backoff_base=0.0,
        backoff_cap=0.0,
        client_attempts=1,
        client_max_retry_wait=0,
        verify_delete_seconds=0,
    )
    values.update(overrides)
    return RelayConfig(**values)


def drain(config: RelayConfig | None = None, rounds: int = 50) -> int:
    """Run the relay until nothing is due (or `rounds` passes), like a worker would."""
    config = config or fast_config()
    total = 0
    for _ in range(rounds):
        handled = relay_once(worker_id="test", config=config)
        total += handled
        if not handled:
            break
    return total


def jira_view(simulator, site_name: str = "default") -> dict:
    """What Jira holds: {kind: {id: updateSequenceNumber}}."""
    return {
        "incidents": {
            k: v["updateSequenceNumber"] for k, v in simulator.incidents(site=site_name).items()
        },
        "reviews": {
            k: v["updateSequenceNumber"] for k, v in simulator.reviews(site=site_name).items()
        },
    }


def portal_view(installation: Installation) -> dict:
    """What the portal says that site should hold: every incident and review of its workspaces
    but those withheld because Jira would refuse them (no services, no reviewed incidents)."""
    workspaces = installation.workspaces.all()
    return {
        "incidents": dict(
            Incident.objects.filter(workspace__in=workspaces)
            .annotate(n=Count("affected_containers"))
            .filter(n__gte=1, n__lte=100)
            .values_list("external_id", "update_sequence_number")
        ),
        "reviews": dict(
            PostIncidentReview.objects.filter(workspace__in=workspaces)
            .annotate(n=Count("incidents"))
            .filter(n__gte=1, n__lte=100)
            .values_list("external_id", "update_sequence_number")
        ),
    }
