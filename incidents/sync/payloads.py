"""The one place where our models become Jira's JSON.

Incident and Review follow the schemas of Jira's Operations REST API
(https://developer.atlassian.com/cloud/jira/software/rest/api-group-operations/); workspaces and
containers follow the fetchWorkspaces and searchContainers action responses
(https://developer.atlassian.com/cloud/jira/software/modules/operations-information/).
The functions read only prefetched relations: pass objects from `Incident.objects.for_jira()` /
`PostIncidentReview.objects.for_jira()` to stay at a constant number of queries.
"""

from collections import defaultdict
from collections.abc import Iterable
from datetime import UTC, datetime

SCHEMA_VERSION = "1.0"


def rfc3339(moment: datetime) -> str:
    """An aware datetime as RFC 3339 in UTC with milliseconds, like the spec's examples."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _associations(associations: Iterable) -> list[dict]:
    grouped: dict[str, list[str]] = defaultdict(list)
    for association in associations:
        grouped[association.association_type].append(association.value)
    return [
        {"associationType": kind, "values": sorted(values)}
        for kind, values in sorted(grouped.items())
    ]


def _common(entity) -> dict:
    payload = {
        "schemaVersion": SCHEMA_VERSION,
        "id": entity.external_id,
        "updateSequenceNumber": entity.update_sequence_number,
        "summary": entity.summary,
        "description": entity.description,
        "url": entity.url,
        "createdDate": rfc3339(entity.created_date),
        "lastUpdated": rfc3339(entity.last_updated),
        "status": entity.status,
    }
    associations = _associations(entity.associations.all())
    if associations:
        payload["associations"] = associations
    return payload


def incident_to_jira(incident) -> dict:
    """An `Incident` as Jira's Incident schema; severity only when set."""
    payload = _common(incident)
    payload["affectedComponents"] = sorted(
        c.external_id for c in incident.affected_containers.all()
    )
    if incident.severity:
        payload["severity"] = {"level": incident.severity}
    return payload


def review_to_jira(review) -> dict:
    """A `PostIncidentReview` as Jira's Review schema; `reviews` are the incident ids."""
    payload = _common(review)
    payload["reviews"] = sorted(i.external_id for i in review.incidents.all())
    return payload


#: List sizes the Incident and Review schemas require (`minItems` 1, `maxItems` 100) that depend
#: on other rows, so no model can guarantee them on its own: key, what must hold, what it has.
LIST_RULES = {
    "affectedComponents": ("an incident must affect 1 to 100 services", "it affects {n}"),
    "reviews": ("a review must cover 1 to 100 incidents", "it covers {n}"),
}
MIN_ITEMS, MAX_ITEMS = 1, 100


def refusal(payload: dict) -> str:
    """Why Jira would refuse this incident or review payload for what other rows say (its
    services, its reviewed incidents), or "" when it may go. Checked before every send: such a
    payload is withheld from Jira and the reason recorded on its outbox row (docs/sync.md)."""
    for key, (rule, found) in LIST_RULES.items():
        count = len(payload.get(key, (MIN_ITEMS,)))
        if not MIN_ITEMS <= count <= MAX_ITEMS:
            return f"Not sent to Jira: {rule}; {found.format(n=count)}."
    return ""


def workspace_to_jira(workspace) -> dict:
    """A `Workspace` as one item of the fetchWorkspaces response."""
    payload = {"id": workspace.external_id, "name": workspace.name, "url": workspace.url}
    if workspace.avatar_url:
        payload["avatarUrl"] = workspace.avatar_url
    return payload


def container_to_jira(container) -> dict:
    """A `Container` as one item of the searchContainers response."""
    payload = {
        "id": container.external_id,
        "name": container.name,
        "url": container.url,
        "lastUpdatedDate": rfc3339(container.last_updated),
    }
    if container.avatar_url:
        payload["avatarUrl"] = container.avatar_url
    return payload
