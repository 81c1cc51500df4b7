"""The "Jira sync" column and filter of the incident and review lists, and what they cost."""

from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from connect.models import Installation
from incidents.models import Incident, PostIncidentReview
from incidents.models.outbox import SyncState
from tests.incidents.factories import make_incident, make_installation, make_review
from tests.incidents.test_admin_changelists import QUERY_BUDGET, Rows

from .support import INCIDENTS, REVIEWS, SITES, failed, pending, retrying, synced

pytestmark = pytest.mark.django_db


def shown(client, url: str, query: str = "") -> dict[str, str]:
    """external id → the text of its Jira sync cell."""
    response = client.get(url + query)
    assert response.status_code == 200
    cl = response.context["cl"]
    admin = cl.model_admin
    return {obj.external_id: " ".join(str(admin.jira_sync(obj)).split()) for obj in cl.result_list}


@pytest.fixture
def incidents():
    """One incident per state, on two sites: the worst state across sites wins."""
    a, b = make_installation(), make_installation()
    made = {}
    for name in ("synced", "pending", "retrying", "failed", "deleted", "mixed", "nowhere"):
        made[name] = make_incident(external_id=f"INC-{name}")
    for name, incident in made.items():
        if name != "nowhere":
            incident.workspace.link_site(a)
            incident.workspace.link_site(b)
            synced(incident, a)
            synced(incident, b)
    pending(made["pending"], b)
    retrying(made["retrying"], a)
    failed(made["failed"], b)
    synced(made["deleted"], a, present_in_jira=False, withheld=True)
    failed(made["mixed"], a)
    retrying(made["mixed"], b)
    return made


def test_the_badge_shows_the_worst_state_over_all_sites(admin_client, incidents):
    cells = shown(admin_client, INCIDENTS)
    assert "Synced" in cells["INC-synced"]
    assert "Pending" in cells["INC-pending"]
    assert "Retrying" in cells["INC-retrying"]
    assert "Failed" in cells["INC-failed"]
    assert "Deleted" in cells["INC-deleted"]
    assert "Failed" in cells["INC-mixed"]
    assert "Never sent to any Jira site" in cells["INC-nowhere"]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("out", {"pending", "retrying", "failed", "mixed"}),
        ("failed", {"failed", "mixed"}),
        ("pending", {"pending", "retrying", "mixed"}),
        ("in", {"synced", "deleted"}),
        ("deleted", {"deleted"}),
        ("none", {"nowhere"}),
    ],
)
def test_the_jira_sync_filter(admin_client, incidents, value, expected):
    ids = set(shown(admin_client, INCIDENTS, f"?jira_sync={value}"))
    assert ids == {f"INC-{name}" for name in expected}


def test_the_filter_is_offered_with_not_in_sync_first(admin_client, incidents):
    response = admin_client.get(INCIDENTS)
    spec = next(f for f in response.context["cl"].filter_specs if f.title == "Jira sync")
    labels = [choice["display"] for choice in spec.choices(response.context["cl"])]
    assert labels[1].startswith("Not in sync")
    assert {"Failed on any site", "In sync on every site"} <= set(labels)


def test_sorting_by_the_sync_column_puts_the_worst_first(admin_client, incidents):
    response = admin_client.get(INCIDENTS)
    column = list(response.context["cl"].list_display).index("jira_sync")
    worst_first = list(shown(admin_client, INCIDENTS, f"?o=-{column}"))
    assert set(worst_first[:2]) == {"INC-failed", "INC-mixed"}
    assert worst_first[-1] == "INC-nowhere"
    best_first = list(shown(admin_client, INCIDENTS, f"?o={column}"))
    assert best_first[0] == "INC-nowhere"
    assert set(best_first[-2:]) == {"INC-failed", "INC-mixed"}


def test_reviews_have_the_column_and_the_filter(admin_client):
    site = make_installation()
    good, bad = make_review(), make_review()
    for review in (good, bad):
        review.workspace.link_site(site)
        synced(review, site, kind="review")
    failed(bad, site, kind="review")
    # An incident with the same id must not leak into the review's state.
    cells = shown(admin_client, REVIEWS)
    assert "Synced" in cells[good.external_id] and "Failed" in cells[bad.external_id]
    assert set(shown(admin_client, REVIEWS, "?jira_sync=failed")) == {bad.external_id}
    assert set(shown(admin_client, REVIEWS, "?jira_sync=in")) == {good.external_id}


def test_an_incident_and_a_review_with_the_same_id_do_not_mix(admin_client):
    site = make_installation()
    incident = make_incident(external_id="SAME-1")
    review = make_review([incident], external_id="SAME-1")
    incident.workspace.link_site(site)
    synced(incident, site)
    failed(review, site, kind="review")
    assert "Synced" in shown(admin_client, INCIDENTS)["SAME-1"]
    assert "Failed" in shown(admin_client, REVIEWS)["SAME-1"]


# --- Query counts ---------------------------------------------------------------------------

SMALL, LARGE = 50, 5_000


def add_sync_rows(rows: Rows, sites: list[Installation]) -> None:
    """Outbox rows for every incident and review made so far, in every state, on three sites."""
    SyncState.objects.filter(kind__in=["incident", "review"]).delete()
    now = timezone.now()
    states: list[dict[str, Any]] = [
        dict(pending=False, present_in_jira=True, synced_at=now),
        dict(pending=True),
        dict(pending=True, attempts=2, last_attempt_error="503"),
        dict(pending=False, present_in_jira=True, error="refused"),
        dict(pending=False, present_in_jira=False, withheld=True),
    ]
    SyncState.objects.bulk_create(
        SyncState(
            installation=site,
            kind=kind,
            external_id=external_id,
            **states[(n + s) % len(states)],
        )
        for model, kind in ((Incident, "incident"), (PostIncidentReview, "review"))
        for n, external_id in enumerate(model.objects.values_list("external_id", flat=True))
        for s, site in enumerate(sites)
    )


PAGES = [
    (INCIDENTS, ""),
    (INCIDENTS, "?jira_sync=out"),
    (INCIDENTS, "?jira_sync=failed&status__exact=open"),
    (INCIDENTS, "?jira_sync=pending"),
    (INCIDENTS, "?jira_sync=in"),
    (INCIDENTS, "?jira_sync=deleted"),
    (INCIDENTS, "?jira_sync=none"),
    (INCIDENTS, "?o=-5"),  # sorted by the sync column
    (REVIEWS, ""),
    (REVIEWS, "?jira_sync=out&q=Review"),
    (REVIEWS, "?jira_sync=in"),
    (SITES, ""),
    (SITES, "?state__exact=installed&q=atlassian"),
    (reverse("admin:incidents_syncstate_changelist"), ""),
    (reverse("admin:incidents_syncstate_changelist"), "?status=failed&kind__exact=incident"),
    (reverse("admin:incidents_syncstate_changelist"), "?status=retrying&q=inc-1"),
]


def page_queries(client, url: str, query: str) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url + query)
    assert response.status_code == 200, (url, query)
    return len(captured)


@pytest.fixture
def sites():
    return [make_installation() for _ in range(3)]


def test_sync_columns_and_filters_cost_the_same_for_50_and_5000_rows(admin_client, sites):
    rows = Rows()
    rows.add(SMALL)
    add_sync_rows(rows, sites)
    small = {page: page_queries(admin_client, *page) for page in PAGES}
    rows.add(LARGE - SMALL)
    add_sync_rows(rows, sites)
    large = {page: page_queries(admin_client, *page) for page in PAGES}
    assert large == small


@pytest.mark.parametrize("count", [SMALL, LARGE])
def test_sync_columns_and_filters_stay_within_the_query_budget(
    admin_client, django_assert_max_num_queries, sites, count
):
    rows = Rows()
    rows.add(count)
    add_sync_rows(rows, sites)
    for url, query in PAGES:
        with django_assert_max_num_queries(QUERY_BUDGET):
            response = admin_client.get(url + query)
        assert response.status_code == 200
    response = admin_client.get(INCIDENTS + "?jira_sync=out")
    # Every incident has a row on each of the 3 sites in a different state: none is in sync.
    assert response.context["cl"].result_count == count
