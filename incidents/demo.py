"""Demo workspaces, containers, incidents and reviews, written idempotently by external id.

Used by `manage.py seed_demo`. Running it again changes nothing that is already as described,
so sequence numbers only move when the demo data really changed.
"""

from dataclasses import dataclass, field
from datetime import timedelta
from typing import TypeVar

from django.db import models, transaction
from django.utils import timezone

from connect.models import Installation
from incidents.models import (
    AssociationType,
    Container,
    Incident,
    IncidentAssociation,
    PostIncidentReview,
    ReviewAssociation,
    Workspace,
)

BASE_URL = "https://ops.example.com"

WORKSPACES = {
    "payments-platform": (
        "Payments platform",
        {
            "payments/api-gateway": "Payments API gateway",
            "payments/checkout": "Checkout service",
            "payments/ledger": "Ledger",
            "payments/fraud-scoring": "Fraud scoring",
        },
    ),
    "customer-web": (
        "Customer web",
        {
            "web/storefront": "Storefront",
            "web/search": "Product search",
            "web/cdn-edge": "CDN edge",
            "web/identity": "Sign-in and identity",
        },
    ),
    "data-infrastructure": (
        "Data infrastructure",
        {
            "data/postgres-primary": "PostgreSQL primary cluster",
            "data/kafka": "Kafka event bus",
            "data/warehouse-etl": "Warehouse ETL",
        },
    ),
}


@dataclass(frozen=True)
class DemoIncident:
    external_id: str
    workspace: str
    summary: str
    severity: str
    status: str
    hours_ago: int
    containers: tuple[str, ...]
    description: str
    issues: tuple[str, ...] = ()
    services: tuple[str, ...] = ()


@dataclass(frozen=True)
class DemoReview:
    external_id: str
    workspace: str
    summary: str
    status: str
    hours_ago: int
    incidents: tuple[str, ...]
    description: str
    issues: tuple[str, ...] = field(default=())


INCIDENTS = [
    DemoIncident(
        "INC-2041",
        "payments-platform",
        "Checkout returns 502 for 8% of card payments",
        "P1",
        "resolved",
        52,
        ("payments/api-gateway", "payments/checkout"),
        "## Impact\n\nAbout **8%** of card payments failed with `502 Bad Gateway` for 41 minutes."
        "\n\n## Timeline\n\n- 09:12 alerts on gateway error rate\n- 09:31 bad config rolled back"
        "\n- 09:53 error rate back to baseline",
        issues=("OPS-311", "PAY-1204"),
    ),
    DemoIncident(
        "INC-2042",
        "payments-platform",
        "Ledger reconciliation job running 3 hours late",
        "P3",
        "open",
        20,
        ("payments/ledger",),
        "Nightly reconciliation has not finished. Settlements are correct but reports are late.",
        issues=("OPS-318",),
    ),
    DemoIncident(
        "INC-2043",
        "payments-platform",
        "Fraud scoring latency above 800 ms p99",
        "P2",
        "open",
        3,
        ("payments/fraud-scoring", "payments/checkout"),
        "Scoring calls time out and checkout falls back to *manual review*.\n\n"
        "Suspected cause: model cache eviction after the 2.14 deploy.",
        services=("svc-fraud-scoring",),
    ),
    DemoIncident(
        "INC-3107",
        "customer-web",
        "Storefront images missing in EU",
        "P2",
        "resolved",
        140,
        ("web/cdn-edge", "web/storefront"),
        "A CDN purge removed the EU image cache; origin was rate-limited while it refilled.",
        issues=("WEB-88",),
    ),
    DemoIncident(
        "INC-3108",
        "customer-web",
        "Search returns no results for accented queries",
        "P4",
        "open",
        30,
        ("web/search",),
        "Queries like `crème brûlée` return nothing since the analyzer upgrade.",
        issues=("WEB-91",),
    ),
    DemoIncident(
        "INC-3109",
        "customer-web",
        "Sign-in loops back to the login page on Safari",
        "P2",
        "resolved",
        75,
        ("web/identity",),
        "A `SameSite` cookie change broke the redirect on Safari 17; reverted.",
    ),
    DemoIncident(
        "INC-3110",
        "customer-web",
        "Elevated 404s on product pages",
        "",
        "unknown",
        1,
        ("web/storefront",),
        "Under investigation; severity not assessed yet.",
    ),
    DemoIncident(
        "INC-4501",
        "data-infrastructure",
        "PostgreSQL primary failover",
        "P1",
        "resolved",
        200,
        ("data/postgres-primary", "data/kafka"),
        "Primary lost its disk; the replica was promoted after 4 minutes of write errors.",
        issues=("DBA-42",),
        services=("svc-postgres",),
    ),
    DemoIncident(
        "INC-4502",
        "data-infrastructure",
        "Kafka consumer lag on orders topic",
        "P3",
        "open",
        6,
        ("data/kafka",),
        "Lag peaked at 2.1M messages; downstream dashboards are stale.",
    ),
    DemoIncident(
        "INC-4503",
        "data-infrastructure",
        "Warehouse ETL skipped a partition",
        "P5",
        "resolved",
        400,
        ("data/warehouse-etl",),
        "One hourly partition was skipped and has been backfilled.",
    ),
]

REVIEWS = [
    DemoReview(
        "PIR-2041",
        "payments-platform",
        "PIR - Checkout 502s after gateway config change",
        "outstanding actions",
        40,
        ("INC-2041",),
        "## What happened\n\nA gateway route was removed by a config change.\n\n"
        "## Actions\n\n1. Validate routes in CI (OPS-320)\n2. Canary config deploys",
        issues=("OPS-320",),
    ),
    DemoReview(
        "PIR-3107",
        "customer-web",
        "PIR - EU image outage and Safari sign-in loop",
        "completed",
        60,
        ("INC-3107", "INC-3109"),
        "Both incidents came from unreviewed edge configuration changes.",
    ),
    DemoReview(
        "PIR-4501",
        "data-infrastructure",
        "PIR - PostgreSQL primary failover",
        "in progress",
        150,
        ("INC-4501",),
        "Draft: disk health alerts did not page.",
    ),
]


@dataclass
class Tally:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    links: int = 0

    def __str__(self) -> str:
        return (
            f"{self.created} created, {self.updated} updated, {self.unchanged} unchanged, "
            f"{self.links} site links added"
        )


_M = TypeVar("_M", bound=models.Model)


def _upsert(model: type[_M], tally: Tally, external_id: str, defaults: dict, **create) -> _M:
    """Create by external id, or update only the fields that differ (saving only if any do)."""
    obj = model._default_manager.filter(external_id=external_id).first()
    if obj is None:
        obj = model(external_id=external_id, **defaults, **create)
        obj.full_clean()
        obj.save()
        tally.created += 1
        return obj
    changed = [name for name, value in defaults.items() if getattr(obj, name) != value]
    if changed:
        for name in changed:
            setattr(obj, name, defaults[name])
        obj.full_clean()
        obj.save()
        tally.updated += 1
    else:
        tally.unchanged += 1
    return obj


def _sync_associations(owner, model, owner_field: str, issues, services) -> None:
    wanted = {(AssociationType.ISSUE.value, v) for v in issues}
    wanted |= {(AssociationType.SERVICE.value, v) for v in services}
    existing = {(a.association_type, a.value): a for a in owner.associations.all()}
    for key, association in existing.items():
        if key not in wanted:
            association.delete()
    for kind, value in sorted(wanted - set(existing)):
        association = model(**{owner_field: owner}, association_type=kind, value=value)
        association.full_clean()
        association.save()


@transaction.atomic
def seed_demo(*, link_all_sites: bool = False) -> Tally:
    """Write the demo data; with `link_all_sites`, link every workspace to every active site."""
    tally, now = Tally(), timezone.now()
    workspaces, containers = {}, {}
    for ws_id, (name, members) in WORKSPACES.items():
        workspace = _upsert(
            Workspace,
            tally,
            ws_id,
            {"name": name, "url": f"{BASE_URL}/workspaces/{ws_id}"},
        )
        workspaces[ws_id] = workspace
        for container_id, container_name in members.items():
            containers[container_id] = _upsert(
                Container,
                tally,
                container_id,
                {"name": container_name, "url": f"{BASE_URL}/services/{container_id}"},
                workspace=workspace,
            )

    incidents = {}
    for item in INCIDENTS:
        incident = _upsert(
            Incident,
            tally,
            item.external_id,
            {
                "summary": item.summary,
                "description": item.description,
                "url": f"{BASE_URL}/incidents/{item.external_id}",
                "severity": item.severity,
                "status": item.status,
            },
            workspace=workspaces[item.workspace],
            created_date=now - timedelta(hours=item.hours_ago),
        )
        incident.affected_containers.set([containers[c] for c in item.containers])
        _sync_associations(incident, IncidentAssociation, "incident", item.issues, item.services)
        incident.full_clean_relations()
        incidents[item.external_id] = incident

    for planned in REVIEWS:
        review = _upsert(
            PostIncidentReview,
            tally,
            planned.external_id,
            {
                "summary": planned.summary,
                "description": planned.description,
                "url": f"{BASE_URL}/reviews/{planned.external_id}",
                "status": planned.status,
            },
            workspace=workspaces[planned.workspace],
            created_date=now - timedelta(hours=planned.hours_ago),
        )
        review.incidents.set([incidents[i] for i in planned.incidents])
        _sync_associations(review, ReviewAssociation, "review", planned.issues, ())
        review.full_clean_relations()

    if link_all_sites:
        sites = Installation.objects.filter(state=Installation.State.INSTALLED, enabled=True)
        for site in sites:
            for workspace in workspaces.values():
                if not workspace.links.filter(installation=site).exists():
                    workspace.link_site(site)
                    tally.links += 1
    return tally
