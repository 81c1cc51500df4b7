"""The one place where our models become Jira's JSON.

Incident and Review follow the Operations schemas of Atlassian's OpenAPI document (a copy in
`jirasim/spec/`); workspaces and containers follow the fetchWorkspaces and searchContainers
action responses
(https://developer.atlassian.com/cloud/jira/software/modules/operations-information-actions/).
The functions read only prefetched relations: pass objects from `Incident.objects.for_jira()` /
`PostIncidentReview.objects.for_jira()` to stay at a constant number of queries.
"""

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from django.db import connections
from django.db.models import CharField, Func

SCHEMA_VERSION = "1.0"


def rfc3339(moment: datetime) -> str:
    """An aware datetime as RFC 3339 in UTC with milliseconds, like the spec's examples."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


#: `rfc3339()` as PostgreSQL SQL, around a timestamp column or expression (`{}`).
RFC3339_SQL = "to_char({} AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')"


class Rfc3339(Func):
    """`rfc3339()` in the database (PostgreSQL): the relay reads a thousand rows at a time,
    and parsing two timestamps a row into datetimes only to format them again costs more than
    the query. Milliseconds are truncated, as `isoformat` truncates them."""

    output_field = CharField()
    template = RFC3339_SQL.format("%(expressions)s")


#: The fields of an incident or review that its payload reads, as `values()` names them.
ENTITY_FIELDS = (
    "external_id",
    "update_sequence_number",
    "summary",
    "description",
    "url",
    "created_date",
    "last_updated",
    "status",
)


def _associations(pairs: Iterable[tuple[str, str]]) -> list[dict]:
    grouped: dict[str, list[str]] = defaultdict(list)
    for association_type, value in pairs:
        grouped[association_type].append(value)
    return [
        {"associationType": kind, "values": sorted(values)}
        for kind, values in sorted(grouped.items())
    ]


def _common(fields: Mapping[str, Any], associations: Iterable[tuple[str, str]]) -> dict:
    payload = {
        "schemaVersion": SCHEMA_VERSION,
        "id": fields["external_id"],
        "updateSequenceNumber": fields["update_sequence_number"],
        "summary": fields["summary"],
        "description": fields["description"],
        "url": fields["url"],
        "createdDate": fields.get("created_text") or rfc3339(fields["created_date"]),
        "lastUpdated": fields.get("updated_text") or rfc3339(fields["last_updated"]),
        "status": fields["status"],
    }
    grouped = _associations(associations)
    if grouped:
        payload["associations"] = grouped
    return payload


def build_incident(
    fields: Mapping[str, Any],
    containers: Iterable[str],
    associations: Iterable[tuple[str, str]],
) -> dict:
    """Jira's Incident from plain values: `ENTITY_FIELDS` plus `severity`, the affected
    containers' ids, and (type, value) association pairs. Severity only when set."""
    payload = _common(fields, associations)
    payload["affectedComponents"] = sorted(containers)
    if fields["severity"]:
        payload["severity"] = {"level": fields["severity"]}
    return payload


def build_review(
    fields: Mapping[str, Any],
    incidents: Iterable[str],
    associations: Iterable[tuple[str, str]],
) -> dict:
    """Jira's Review from plain values; `reviews` are the reviewed incidents' ids."""
    payload = _common(fields, associations)
    payload["reviews"] = sorted(incidents)
    return payload


def _association_pairs(entity: Any) -> list[tuple[str, str]]:
    return [(a.association_type, a.value) for a in entity.associations.all()]


def incident_to_jira(incident: Any) -> dict:
    """An `Incident` instance as Jira's Incident schema."""
    fields = {name: getattr(incident, name) for name in (*ENTITY_FIELDS, "severity")}
    containers = [c.external_id for c in incident.affected_containers.all()]
    return build_incident(fields, containers, _association_pairs(incident))


def review_to_jira(review: Any) -> dict:
    """A `PostIncidentReview` instance as Jira's Review schema."""
    fields = {name: getattr(review, name) for name in ENTITY_FIELDS}
    incidents = [i.external_id for i in review.incidents.all()]
    return build_review(fields, incidents, _association_pairs(review))


@dataclass(frozen=True)
class Current:
    """An entity as the relay reads it: where it belongs, and its payload."""

    workspace_pk: int
    workspace_id: str
    payload: dict


def current_payloads(model: Any, external_ids: Iterable[str]) -> dict[str, Current]:
    """The payloads of these incidents or reviews (by external id), built from `values()` in
    three queries whatever their number: no model instances, no prefetch machinery."""
    is_incident = model.RELATED_FIELD == "affected_containers"
    names: tuple[str, ...] = (*ENTITY_FIELDS, "severity") if is_incident else ENTITY_FIELDS
    entities = model._default_manager.filter(external_id__any=list(external_ids)).order_by()
    if connections[entities.db].vendor == "postgresql":
        # Timestamps come formatted (`Rfc3339`) as `created_text` and `updated_text`.
        dates = ("created_date", "last_updated")
        entities = entities.annotate(
            created_text=Rfc3339("created_date"), updated_text=Rfc3339("last_updated")
        )
        names = (*(n for n in names if n not in dates), "created_text", "updated_text")
    rows = list(entities.values("pk", "workspace_id", "workspace__external_id", *names))
    pks = [row["pk"] for row in rows]
    through = model._meta.get_field(model.RELATED_FIELD).remote_field.through
    owner = model._meta.model_name  # the through table's column for the owner
    target = "container" if is_incident else "incident"
    related: dict[int, list[str]] = defaultdict(list)
    for owner_pk, related_id in through.objects.filter(**{f"{owner}_id__any": pks}).values_list(
        f"{owner}_id", f"{target}__external_id"
    ):
        related[owner_pk].append(related_id)
    association_model = model._meta.get_field("associations").related_model
    fk = "incident_id" if is_incident else "review_id"
    associations: dict[int, list[tuple[str, str]]] = defaultdict(list)
    for owner_pk, association_type, value in association_model.objects.filter(
        **{f"{fk}__any": pks}
    ).values_list(fk, "association_type", "value"):
        associations[owner_pk].append((association_type, value))
    build = build_incident if is_incident else build_review
    return {
        row["external_id"]: Current(
            row["workspace_id"],
            row["workspace__external_id"],
            build(row, related[row["pk"]], associations[row["pk"]]),
        )
        for row in rows
    }


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
