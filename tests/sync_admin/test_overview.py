"""The sync in one sentence at the top of an incident or review page."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from incidents.models.outbox import SyncState
from incidents.sync import overview, report
from tests.incidents.factories import make_incident, make_installation, make_workspace

pytestmark = pytest.mark.django_db


@pytest.fixture
def two_sites():
    workspace = make_workspace()
    first = make_installation(base_url="https://alpha.atlassian.net")
    second = make_installation(base_url="https://beta.atlassian.net")
    workspace.link_site(first)
    workspace.link_site(second)
    incident = make_incident(workspace)
    return incident, first, second


def sentence(incident) -> str:
    return overview.entity_sentence(report.entity_site_states("incident", incident))


def settle(incident, site):
    SyncState.objects.filter(external_id=incident.external_id, installation=site).update(
        pending=False,
        present_in_jira=True,
        synced_at=timezone.now(),
        sent_sequence_number=incident.update_sequence_number,
    )


def test_in_sync_on_both_sites(two_sites):
    incident, first, second = two_sites
    settle(incident, first)
    settle(incident, second)
    assert sentence(incident) == "On 2 Jira sites; in sync on both."


def test_a_retrying_site_says_since_when_and_what_jira_answered(two_sites):
    incident, first, second = two_sites
    settle(incident, first)
    since = timezone.localtime().replace(hour=14, minute=2, second=0, microsecond=0)
    SyncState.objects.filter(external_id=incident.external_id, installation=second).update(
        last_attempt_error="Jira answered 503.",
        changed_at=since,
        next_attempt_at=timezone.now() + timedelta(minutes=1),
    )
    assert sentence(incident) == "On 2 Jira sites; 1 retrying since 14:02: Jira answered 503."


def test_a_refused_entity_quotes_jira(two_sites):
    incident, first, second = two_sites
    settle(incident, first)
    SyncState.objects.filter(external_id=incident.external_id, installation=second).update(
        error="summary is too long", pending=False
    )
    assert sentence(incident) == "On 2 Jira sites; 1 refused by Jira: summary is too long."


def test_no_linked_site():
    assert sentence(make_incident()) == "On no Jira site: its workspace is linked to none."


def test_the_sentence_is_above_the_form_and_the_sequence_number_folded_away(
    admin_client, two_sites
):
    incident, *_ = two_sites
    html = admin_client.get(
        reverse("admin:incidents_incident_change", args=[incident.pk])
    ).content.decode()
    assert "On 2 Jira sites; 2 being sent." in html
    assert html.index('id="jira-sync-summary"') < html.index('name="summary"')
    details = html.index('<details id="jira-sync-details"')
    assert details < html.index('class="sync-sequence"') < html.index("</details>", details)


def test_the_site_page_hides_lifecycle_internals(admin_client):
    site = make_installation()
    html = admin_client.get(
        reverse("admin:connect_installation_change", args=[site.pk])
    ).content.decode()
    assert "Last lifecycle iat" not in html
    assert "Technical details" in html
    assert "Client key" in html  # folded away, not removed


def _row(site, external_id, **fields):
    return SyncState.objects.create(
        installation=site, kind="incident", external_id=external_id, **fields
    )


def test_site_health_counts_each_sites_backlog_retries_and_refusals_in_two_queries(
    django_assert_num_queries,
):
    busy, quiet = make_installation(), make_installation()
    _row(busy, "INC-1", pending=True)
    _row(busy, "INC-2", pending=True, last_attempt_error="Jira answered 503")
    _row(busy, "INC-3", pending=False, error="summary is too long")
    _row(quiet, "INC-1", pending=False)
    with django_assert_num_queries(2):
        health = {site.installation: site for site in overview.sites_health()}
    assert (health[busy].backlog, health[busy].retrying, health[busy].failed) == (2, 1, 1)
    assert health[busy].failing and not health[quiet].failing
    assert (health[quiet].backlog, health[quiet].label) == (0, "Sending")


def test_uninstalled_sites_are_left_out_of_the_health_and_the_banner():
    gone = make_installation(state="uninstalled")
    _row(gone, "INC-1", pending=True, last_attempt_error="Jira answered 401")
    assert overview.sites_health() == []
    assert overview.failing_banner() == ""


def test_the_home_page_lists_every_site_with_its_figures(ops_client):
    site = make_installation()
    _row(site, "INC-1", pending=False, error="summary is too long")
    response = ops_client.get(reverse("home"))
    (shown,) = response.context["sites_health"]
    assert (shown.installation, shown.failed) == (site, 1)
    html = response.content.decode()
    assert f"{site}: 1 refused by Jira" in html
    assert "Failing" in html
