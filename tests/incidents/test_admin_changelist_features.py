"""What ops staff see and do on the incident list: search, filters, badges, sorting."""

import pytest
from django.urls import reverse

from .factories import make_container, make_incident, make_review, make_workspace

pytestmark = pytest.mark.django_db

INCIDENTS = reverse("admin:incidents_incident_changelist")


def shown(client, query: str = "") -> list[str]:
    response = client.get(INCIDENTS + query)
    assert response.status_code == 200
    return [incident.external_id for incident in response.context["cl"].result_list]


@pytest.fixture
def incidents():
    workspace = make_workspace(name="Payments")
    gateway = make_container(workspace, name="API gateway", external_id="payments/gateway")
    ledger = make_container(workspace, name="Ledger", external_id="payments/ledger")
    return {
        "a": make_incident(
            workspace,
            [gateway],
            external_id="INC-1",
            summary="Gateway 502s",
            severity="P1",
            status="open",
        ),
        "b": make_incident(
            workspace,
            [ledger],
            external_id="INC-2",
            summary="Ledger late",
            severity="P4",
            status="resolved",
        ),
        "c": make_incident(
            make_workspace(name="Web"),
            None,
            external_id="INC-3",
            summary="Search empty",
            severity="",
            status="open",
        ),
    }


def test_search_matches_id_and_summary(admin_client, incidents):
    assert shown(admin_client, "?q=INC-2") == ["INC-2"]
    assert sorted(shown(admin_client, "?q=gateway")) == ["INC-1"]


def test_filters_by_status_severity_and_workspace(admin_client, incidents):
    assert sorted(shown(admin_client, "?status__exact=open")) == ["INC-1", "INC-3"]
    assert shown(admin_client, "?severity__exact=P4") == ["INC-2"]
    workspace = incidents["c"].workspace_id
    assert shown(admin_client, f"?workspace__id__exact={workspace}") == ["INC-3"]


def test_affected_container_filter_takes_an_id_or_part_of_a_name(admin_client, incidents):
    assert shown(admin_client, "?container=payments/ledger") == ["INC-2"]
    assert shown(admin_client, "?container=gate") == ["INC-1"]
    assert shown(admin_client, "?container=nothing-like-this") == []


def test_the_container_filter_keeps_other_filters_in_its_form(admin_client, incidents):
    html = admin_client.get(INCIDENTS + "?status__exact=open&container=gate").content.decode()
    assert '<input type="hidden" name="status__exact" value="open">' in html
    assert 'name="container" value="gate"' in html


def test_severity_and_status_are_colour_coded(admin_client, incidents):
    html = admin_client.get(INCIDENTS).content.decode()
    assert "background:#b3261e" in html and ">P1 (highest)</span>" in html
    assert "background:#2b8a3e" in html and ">Resolved</span>" in html


def test_sorting_by_severity_orders_p1_first(admin_client, incidents):
    assert shown(admin_client, "?o=3&severity__exact=P1") == ["INC-1"]
    ordered = shown(admin_client, "?o=3")
    assert ordered.index("INC-1") < ordered.index("INC-2")


def test_the_list_names_affected_containers(admin_client, incidents):
    assert "API gateway [payments/gateway]" not in admin_client.get(INCIDENTS).content.decode()
    assert "API gateway" in admin_client.get(INCIDENTS).content.decode()


def test_date_hierarchy_drills_into_a_year(admin_client, incidents):
    year = incidents["a"].created_date.year
    assert len(shown(admin_client, f"?created_date__year={year}")) == 3
    assert shown(admin_client, f"?created_date__year={year - 5}") == []


def test_review_list_shows_reviewed_incident_ids(admin_client):
    review = make_review()
    html = admin_client.get(reverse("admin:incidents_postincidentreview_changelist")).content
    assert review.incidents.get().external_id.encode() in html


def test_workspace_list_counts_containers_and_sites(admin_client, incidents):
    response = admin_client.get(reverse("admin:incidents_workspace_changelist"))
    payments = next(w for w in response.context["cl"].result_list if w.name == "Payments")
    assert (payments.container_total, payments.site_total) == (2, 0)
