"""Every changelist runs the same number of queries for 50 rows as for 5,000."""

from datetime import timedelta
from urllib.parse import urlencode

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from connect.models import Installation
from incidents.models import (
    Container,
    Incident,
    IncidentAssociation,
    PostIncidentReview,
    Workspace,
    WorkspaceLink,
)

pytestmark = pytest.mark.django_db

SMALL, LARGE = 50, 5_000
# What one changelist page may cost, whatever the row count: session, user, count(s),
# the page, one prefetch, and the filters' own lookups.
QUERY_BUDGET = 9


class Rows:
    """Bulk-creates `n` more rows of each kind, continuing the numbering on each call."""

    def __init__(self) -> None:
        self.made = 0
        self.workspaces = Workspace.objects.bulk_create(
            Workspace(external_id=f"ws-{n}", name=f"Workspace {n}", url="https://ops.example.com")
            for n in range(3)
        )
        self.containers = Container.objects.bulk_create(
            Container(
                workspace=self.workspaces[n % 3],
                external_id=f"svc-{n}",
                name=f"Service {n}",
                url="https://ops.example.com",
            )
            for n in range(6)
        )
        self.site = Installation.objects.create(client_key="c", base_url="https://a.atlassian.net")

    def add(self, n: int) -> None:
        start, self.made = self.made, self.made + n
        numbers = range(start, self.made)
        now = timezone.now()
        incidents = Incident.objects.bulk_create(
            Incident(
                external_id=f"inc-{i}",
                workspace=self.workspaces[i % 3],
                summary=f"Incident {i}",
                url="https://ops.example.com",
                severity=["P1", "P3", "", "unknown"][i % 4],
                status=["open", "resolved"][i % 2],
                created_date=now - timedelta(days=i % 700),
            )
            for i in numbers
        )
        through = Incident.affected_containers.through
        through.objects.bulk_create(
            through(incident=incident, container=self.containers[(i % 3) + 3 * (k % 2)])
            for i, incident in zip(numbers, incidents, strict=True)
            for k in range(2)
        )
        IncidentAssociation.objects.bulk_create(
            IncidentAssociation(incident=incident, value=f"OPS-{i + 1}")
            for i, incident in zip(numbers, incidents, strict=True)
        )
        reviews = PostIncidentReview.objects.bulk_create(
            PostIncidentReview(
                external_id=f"pir-{i}",
                workspace=incident.workspace,
                summary=f"Review {i}",
                url="https://ops.example.com",
                created_date=incident.created_date,
            )
            for i, incident in zip(numbers, incidents, strict=True)
        )
        PostIncidentReview.incidents.through.objects.bulk_create(
            PostIncidentReview.incidents.through(postincidentreview=review, incident=incident)
            for review, incident in zip(reviews, incidents, strict=True)
        )
        workspaces = Workspace.objects.bulk_create(
            Workspace(external_id=f"bulk-ws-{i}", name=f"Bulk {i}", url="https://ops.example.com")
            for i in numbers
        )
        Container.objects.bulk_create(
            Container(
                workspace=workspace,
                external_id=f"bulk-svc-{i}",
                name=f"Bulk service {i}",
                url="https://ops.example.com",
            )
            for i, workspace in zip(numbers, workspaces, strict=True)
        )
        sites = Installation.objects.bulk_create(
            Installation(client_key=f"site-{i}", base_url=f"https://s{i}.atlassian.net")
            for i in numbers
        )
        WorkspaceLink.objects.bulk_create(
            WorkspaceLink(workspace=workspace, installation=site)
            for workspace, site in zip(workspaces, sites, strict=True)
        )


MIDNIGHT = timezone.localtime().replace(hour=0, minute=0, second=0, microsecond=0)
# The "raised at" filter's "Today".
TODAY = {
    "created_date__gte": MIDNIGHT.isoformat(),
    "created_date__lt": (MIDNIGHT + timedelta(days=1)).isoformat(),
}
PAGES = [
    ("admin:incidents_incident_changelist", ""),
    ("admin:incidents_incident_changelist", "?status__exact=open&severity__exact=P1"),
    ("admin:incidents_incident_changelist", "?q=Incident&o=-3"),
    ("admin:incidents_incident_changelist", "?container=svc-1"),
    ("admin:incidents_incident_changelist", "?" + urlencode(TODAY)),
    ("admin:incidents_postincidentreview_changelist", ""),
    ("admin:incidents_postincidentreview_changelist", "?status__exact=in+progress&q=Review"),
    ("admin:incidents_workspace_changelist", ""),
    ("admin:incidents_workspace_changelist", "?o=-4"),
    ("admin:incidents_container_changelist", ""),
    ("admin:incidents_container_changelist", "?q=Bulk&o=-5"),
    ("admin:connect_installation_changelist", ""),
]


def page_queries(client, name: str, query: str) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(reverse(name) + query)
    assert response.status_code == 200
    return len(captured)


def test_every_changelist_costs_the_same_for_50_and_5000_rows(admin_client):
    rows = Rows()
    rows.add(SMALL)
    small = {page: page_queries(admin_client, *page) for page in PAGES}
    rows.add(LARGE - SMALL)
    large = {page: page_queries(admin_client, *page) for page in PAGES}
    assert large == small


@pytest.mark.parametrize("count", [SMALL, LARGE])
def test_every_changelist_stays_within_the_query_budget(
    admin_client, django_assert_max_num_queries, count
):
    Rows().add(count)
    for name, query in PAGES:
        with django_assert_max_num_queries(QUERY_BUDGET):
            response = admin_client.get(reverse(name) + query)
        assert response.status_code == 200
        if not query:
            assert response.context["cl"].result_count >= count
