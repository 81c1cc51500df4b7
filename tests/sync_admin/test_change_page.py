"""The "Jira sync" table on incident and review pages: one row per site, a status staff can act
on, and the markup a browser test relies on (table#jira-sync-state, tr[data-site],
td.sync-status starting with the status word)."""

from datetime import timedelta
from html.parser import HTMLParser

import pytest
from django.contrib.auth.models import Permission
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from incidents.sync.report import WORDS
from tests.incidents.factories import make_incident, make_installation, make_review

from .support import failed, pending, retrying, set_state, site_status, synced

pytestmark = pytest.mark.django_db


class SyncTable(HTMLParser):
    """Collects {data-site: text of td.sync-status} from table#jira-sync-state, and the sequence
    numbers from the collapsed table#jira-sync-technical."""

    def __init__(self) -> None:
        super().__init__()
        self.found = False
        self.rows: dict[str, str] = {}
        self.sequence: dict[str, str] = {}
        self.html = ""
        self._in_table = False
        self._site = ""
        self._cell: str | None = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "table" and attrs.get("id") in ("jira-sync-state", "jira-sync-technical"):
            self.found = self._in_table = True
        elif self._in_table and tag == "tr" and "data-site" in attrs:
            self._site = attrs["data-site"]
            self.rows.setdefault(self._site, "")
            self.sequence.setdefault(self._site, "")
        elif self._site and tag == "td" and attrs.get("class") in ("sync-status", "sync-sequence"):
            self._cell = attrs["class"]
        elif tag == "br":
            self.handle_data("\n")  # a line break, as a browser's innerText renders it

    def handle_endtag(self, tag):
        if tag == "td":
            self._cell = None
        elif tag == "table":
            self._in_table = False

    def handle_data(self, data):
        if self._cell == "sync-status":
            self.rows[self._site] += data
        elif self._cell == "sync-sequence":
            self.sequence[self._site] += data


def sync_table(client, entity) -> SyncTable:
    name = "incident" if entity._meta.model_name == "incident" else "postincidentreview"
    response = client.get(reverse(f"admin:incidents_{name}_change", args=[entity.pk]))
    assert response.status_code == 200
    table = SyncTable()
    table.feed(response.content.decode())
    table.html = response.content.decode()
    return table


def status_text(client, entity, installation) -> str:
    return " ".join(sync_table(client, entity).rows[installation.base_url].split())


@pytest.fixture
def linked():
    """An incident whose workspace is linked to one site."""
    site = make_installation(base_url="https://acme.atlassian.net")
    incident = make_incident()
    incident.workspace.link_site(site)
    return incident, site


def test_a_synced_incident_says_synced_with_the_sequence_numbers(admin_client, linked):
    incident, site = linked
    synced(incident, site)
    table = sync_table(admin_client, incident)
    text = " ".join(table.rows[site.base_url].split())
    assert text.startswith("Synced")
    assert "Jira holds the latest version" in text
    usn = str(incident.update_sequence_number)
    assert table.sequence[site.base_url].split() == [usn, "/", usn]


def test_a_fresh_change_says_pending(admin_client, linked):
    incident, site = linked  # linking queued it
    assert status_text(admin_client, incident, site).startswith("Pending")


def test_a_change_waiting_to_retry_says_when_and_why(admin_client, linked):
    incident, site = linked
    retrying(incident, site, error="Jira answered 503 Service Unavailable")
    text = status_text(admin_client, incident, site)
    assert text.startswith("Retrying · Waiting to retry")
    assert "attempt 4 at" in text and "(in 4 minutes" in text
    assert "Jira answered 503 Service Unavailable" in text


def test_a_refused_incident_says_failed_with_jiras_message(admin_client, linked):
    incident, site = linked
    failed(incident, site, message="description: must have at most 5000 characters.")
    text = status_text(admin_client, incident, site)
    assert text.startswith("Failed")
    assert "description: must have at most 5000 characters." in text
    assert "Send to Jira now" in text


def test_an_incident_deleted_from_jira_by_staff_says_deleted(admin_client, linked):
    incident, site = linked
    synced(incident, site, present_in_jira=False, withheld=True, sent_sequence_number=None)
    text = status_text(admin_client, incident, site)
    assert text.startswith("Deleted · Deleted from Jira")
    assert "Its next change, or “Send to Jira now”, sends it again" in text


def test_a_site_paused_by_a_429_says_paused_until_when(admin_client, linked):
    incident, site = linked
    site_status(site, paused_until=timezone.now() + timedelta(minutes=30))
    text = status_text(admin_client, incident, site)
    assert text.startswith("Paused · Site paused")
    assert "slow down" in text


def test_an_uninstalled_site_says_paused(admin_client, linked):
    incident, site = linked
    site.state = site.State.UNINSTALLED
    site.save()
    assert status_text(admin_client, incident, site).startswith("Paused")


def test_a_site_refusing_our_credentials_says_attention(admin_client, linked):
    incident, site = linked
    site_status(site, needs_attention=True, last_error="Jira refused the portal's credentials")
    text = status_text(admin_client, incident, site)
    assert text.startswith("Attention · Site needs attention")
    assert "Resume sending" in text


def test_a_synced_entity_on_a_site_needing_attention_still_says_synced(admin_client, linked):
    incident, site = linked
    synced(incident, site)
    site_status(site, needs_attention=True)
    assert status_text(admin_client, incident, site).startswith("Synced")


def test_every_site_gets_its_own_row(admin_client):
    first = make_installation(base_url="https://first.atlassian.net")
    second = make_installation(base_url="https://second.atlassian.net")
    gone = make_installation(base_url="https://unlinked.atlassian.net")
    incident = make_incident()
    incident.workspace.link_site(first)
    incident.workspace.link_site(second)
    synced(incident, first)
    failed(incident, second)
    pending(incident, gone)  # a delete on its way to a site no longer linked
    table = sync_table(admin_client, incident)
    assert list(table.rows) == [first.base_url, second.base_url, gone.base_url]
    assert table.rows[first.base_url].strip().startswith("Synced")
    assert table.rows[second.base_url].strip().startswith("Failed")
    gone_text = " ".join(table.rows[gone.base_url].split())
    assert gone_text.startswith("Pending") and "A delete from this site" in gone_text
    assert "workspace no longer linked" in table.html


def test_each_status_starts_with_one_of_the_contract_words(admin_client):
    sites = [make_installation() for _ in range(6)]
    incident = make_incident()
    for site in sites:
        incident.workspace.link_site(site)
    synced(incident, sites[0])
    failed(incident, sites[1])
    retrying(incident, sites[2])
    synced(incident, sites[3], present_in_jira=False, withheld=True)
    site_status(sites[4], needs_attention=True)
    site_status(sites[5], paused_until=timezone.now() + timedelta(hours=1))
    rows = sync_table(admin_client, incident).rows
    words = [text.strip().split()[0] for text in rows.values()]
    assert words == ["Synced", "Failed", "Retrying", "Deleted", "Attention", "Paused"]
    assert set(words) <= set(WORDS)


def test_an_incident_going_to_no_site_says_so_and_how_to_link_one(admin_client):
    incident = make_incident()
    table = sync_table(admin_client, incident)
    assert not table.found
    assert "goes to no Jira site" in table.html
    assert "Linked Jira sites" in table.html
    workspace_url = reverse("admin:incidents_workspace_change", args=[incident.workspace.pk])
    assert workspace_url in table.html


def test_a_review_page_shows_its_own_state(admin_client):
    site = make_installation()
    review = make_review()
    review.workspace.link_site(site)
    failed(review, site, kind="review", message="reviews: unknown incident")
    assert status_text(admin_client, review, site).startswith("Failed")


def test_the_add_page_has_no_sync_section(admin_client):
    response = admin_client.get(reverse("admin:incidents_incident_add"))
    assert response.status_code == 200
    assert "jira-sync" not in response.content.decode()


ACTIONS = ("send_to_jira_now", "resend_everything_to_jira", "delete_from_jira")


def test_ops_staff_see_the_action_buttons_and_viewers_do_not(
    ops_client, client, django_user_model, linked
):
    incident, _ = linked
    url = reverse("admin:incidents_incident_change", args=[incident.pk])
    html = ops_client.get(url).content.decode()
    assert all(f'value="{action}"' in html for action in ACTIONS)
    assert 'id="jira-sync-actions"' in html
    viewer = django_user_model.objects.create_user("viewer", is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_incident"))
    client.force_login(viewer)
    html = client.get(url).content.decode()
    assert 'id="jira-sync-state"' in html
    assert not any(f'value="{action}"' in html for action in ACTIONS)


def test_the_page_costs_the_same_for_one_site_as_for_ten(admin_client):
    incident = make_incident()
    incident.workspace.link_site(make_installation())
    url = reverse("admin:incidents_incident_change", args=[incident.pk])
    with CaptureQueriesContext(connection) as one:
        admin_client.get(url)
    for _ in range(9):
        site = make_installation()
        incident.workspace.link_site(site)
        set_state(incident, site, error="refused")
    with CaptureQueriesContext(connection) as ten:
        admin_client.get(url)
    assert len(ten) == len(one)


def test_a_site_whose_link_was_removed_says_deleted_not_synced(admin_client):
    site = make_installation(base_url="https://former.atlassian.net")
    incident = make_incident()
    incident.workspace.link_site(site)
    synced(incident, site)
    incident.workspace.unlink_site(site)  # the row becomes a tombstone, checked later
    text = status_text(admin_client, incident, site)
    assert text.startswith("Deleted")
    assert "no longer linked" in text
