"""jirasim makes Jira's own action calls (its JWTs, its qsh) to the running portal."""

import pytest

from connect.models import Installation
from incidents.models.associations import EntityAssociation
from jirasim.actions import DEFAULT_ACCOUNT_ID
from jirasim.simulator import DEFAULT_SITE
from jirasim.testing import run_jirasim

from .support import make_container, make_workspace

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def sim(live_server, settings):
    with run_jirasim() as simulator:
        settings.CONNECT_BASE_URL = live_server.url
        settings.CONNECT_INSTALL_KEYS_URL = simulator.install_keys_url
        settings.CONNECT_ALLOWED_SITE_HOSTS = ["127.0.0.1"]
        simulator.create_site("beta")
        for site in (DEFAULT_SITE, "beta"):
            result = simulator.install(live_server.url + "/atlassian-connect.json", site=site)
            assert result.ok, result.message
        yield simulator


@pytest.fixture
def portal_data(sim):
    home, beta = (
        Installation.objects.get(client_key=sim.installation(site=name).client_key)
        for name in (DEFAULT_SITE, "beta")
    )
    ours = make_workspace("ws-home", sites=[home])
    theirs = make_workspace("ws-beta", sites=[beta])
    make_container(ours, "payments-db", "Payments DB")
    make_container(ours, "zahlungs-dienst", "Zahlungsdienst für Größen & Co")
    make_container(theirs, "beta-payments", "Payments of beta")
    return home, beta


def test_fetch_workspaces_from_jirasim(sim, portal_data):
    result = sim.fetch_workspaces(["ws-home", "ws-beta", "unknown"])
    assert result.ok, result.problems
    assert [w["id"] for w in result.data["workspaces"]] == ["ws-home"]


def test_search_containers_from_jirasim_sees_only_its_site(sim, portal_data):
    result = sim.search_containers("PAYMENTS")
    assert result.ok, result.problems
    assert [c["id"] for c in result.data["containers"]] == ["payments-db"]
    beta = sim.search_containers("payments", site="beta")
    assert [c["id"] for c in beta.data["containers"]] == ["beta-payments"]


def test_search_with_unicode_and_reserved_characters_passes_the_qsh(sim, portal_data):
    result = sim.search_containers("größen & co")
    assert result.ok, result.problems
    assert [c["id"] for c in result.data["containers"]] == ["zahlungs-dienst"]


def test_search_with_workspace_id_from_jirasim(sim, portal_data):
    assert sim.search_containers("", workspace_id="ws-beta").data == {"containers": []}
    mine = sim.search_containers("", workspace_id="ws-home")
    assert {c["id"] for c in mine.data["containers"]} == {"payments-db", "zahlungs-dienst"}


def test_associate_and_disassociate_from_jirasim(sim, portal_data):
    home, _ = portal_data
    associated = sim.associate("payments-db", "10001")
    assert associated.ok, associated.problems
    row = EntityAssociation.objects.get()
    assert row.container is not None
    assert (row.installation, row.container.external_id, row.target_id) == (
        home,
        "payments-db",
        "10001",
    )
    assert row.associated_by == DEFAULT_ACCOUNT_ID
    assert sim.associate("payments-db", "10001").ok  # Jira retries: still one row
    assert EntityAssociation.objects.count() == 1
    disassociated = sim.disassociate("payments-db", "10001")
    assert disassociated.ok, disassociated.problems
    assert not EntityAssociation.objects.exists()


def test_jirasim_cannot_associate_another_sites_container(sim, portal_data):
    result = sim.associate("beta-payments", "10001")
    assert result.status == 404
    assert not EntityAssociation.objects.exists()
    assert not [name for name in sim.counters if name.startswith("jwt-rejected")]
