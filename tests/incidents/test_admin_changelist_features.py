"""What ops staff see and do on the incident list: search, filters, badges, sorting."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from incidents.models import Incident

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
    workspace = incidents["c"].workspace
    assert shown(admin_client, f"?workspace={workspace.external_id}") == ["INC-3"]
    assert sorted(shown(admin_client, "?workspace=paym")) == ["INC-1", "INC-2"]
    assert shown(admin_client, "?workspace=no-such-workspace") == []


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


def date_filter_links(client) -> dict[str, str]:
    """The "raised at" filter's choices: label → query string."""
    response = client.get(INCIDENTS)
    cl = response.context["cl"]
    spec = next(f for f in cl.filter_specs if f.title == "raised at")
    return {str(choice["display"]): choice["query_string"] for choice in spec.choices(cl)}


def test_the_date_filter_picks_recent_incidents_without_scanning_dates(admin_client, incidents):
    Incident.objects.filter(pk=incidents["b"].pk).update(
        created_date=timezone.now() - timedelta(days=30)
    )
    links = date_filter_links(admin_client)
    assert sorted(shown(admin_client, links["Past 7 days"])) == ["INC-1", "INC-3"]
    assert len(shown(admin_client, links["Any date"])) == 3
    # The page offers fixed ranges: no query for the dates that hold incidents.
    assert "created_date__year" not in admin_client.get(INCIDENTS).content.decode()


def test_review_list_shows_reviewed_incident_ids(admin_client):
    review = make_review()
    html = admin_client.get(reverse("admin:incidents_postincidentreview_changelist")).content
    assert review.incidents.get().external_id.encode() in html


def test_workspace_list_counts_containers_and_sites(admin_client, incidents):
    response = admin_client.get(reverse("admin:incidents_workspace_changelist"))
    payments = next(w for w in response.context["cl"].result_list if w.name == "Payments")
    assert (payments.container_total, payments.site_total) == (2, 0)


def test_ties_in_a_sorted_column_break_by_id_in_the_same_direction(admin_client):
    workspace = make_workspace()
    made = [make_incident(workspace, status="open").pk for _ in range(4)]
    column = 4  # status, after the checkbox, id, summary and severity
    ascending = admin_client.get(INCIDENTS + f"?o={column}").context["cl"].result_list
    descending = admin_client.get(INCIDENTS + f"?o=-{column}").context["cl"].result_list
    assert [i.pk for i in ascending] == sorted(made)
    assert [i.pk for i in descending] == sorted(made, reverse=True)


def test_the_container_list_counts_each_containers_incidents(admin_client, incidents):
    containers = reverse("admin:incidents_container_changelist")
    response = admin_client.get(containers)
    totals = {c.external_id: c.incident_total for c in response.context["cl"].result_list}
    assert totals["payments/gateway"] == 1 and totals["payments/ledger"] == 1
    make_incident(incidents["a"].workspace, [incidents["a"].affected_containers.get()])
    response = admin_client.get(containers + "?q=gateway")
    assert [c.incident_total for c in response.context["cl"].result_list] == [2]


def test_large_lists_show_no_unfiltered_total(admin_client, incidents):
    response = admin_client.get(INCIDENTS + "?status__exact=open")
    assert response.context["cl"].result_count == 2
    assert response.context["cl"].full_result_count is None
