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

from incidents.models.lookups import one_of

SCHEMA_VERSION = "1.0"


def rfc3339(moment: datetime) -> str:
    """An aware datetime as RFC 3339 in UTC with milliseconds, like the spec's examples."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


#: `rfc3339()` as PostgreSQL SQL, around a timestamp column (`{}`): the relay reads a thousand
#: rows at a time, and parsing two timestamps a row into datetimes only to format them again
#: costs more than the query. Milliseconds are truncated, as `isoformat` truncates them.
RFC3339_SQL = "to_char({} AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')"


#: The fields of an incident or review that its payload reads, by field name.
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
    """The payloads of these incidents or reviews (by external id), built from plain rows in
    three statements whatever their number.

    Plain SQL rather than querysets: the relay reads 1000 entities a batch, and building three
    querysets filtered by 1000 ids (each id prepared and resolved on its own) and a dict per
    row took about as long as the statements themselves."""
    is_incident = model.RELATED_FIELD == "affected_containers"
    names: tuple[str, ...] = (*ENTITY_FIELDS, "severity") if is_incident else ENTITY_FIELDS
    connection = connections[model._default_manager.db]
    quote = connection.ops.quote_name
    postgresql = connection.vendor == "postgresql"
    meta = model._meta
    workspace_field = meta.get_field("workspace")
    workspace_meta = workspace_field.related_model._meta
    selected = []
    for name in names:
        column = f"e.{quote(meta.get_field(name).column)}"
        if postgresql and name in ("created_date", "last_updated"):
            column = RFC3339_SQL.format(column)
        selected.append(column)
    # Only quoted table and column names from the models' metadata are interpolated; values
    # are parameters.
    which, which_params = one_of(
        connection, "e." + quote(meta.get_field("external_id").column), list(external_ids), "text"
    )
    entity_sql = (
        f"SELECT e.{quote(meta.pk.column)}, e.{quote(workspace_field.column)}, "  # noqa: S608
        f"w.{quote(workspace_meta.get_field('external_id').column)}, {', '.join(selected)} "
        f"FROM {quote(meta.db_table)} e JOIN {quote(workspace_meta.db_table)} w "
        f"ON w.{quote(workspace_meta.pk.column)} = e.{quote(workspace_field.column)} "
        f"WHERE {which}"
    )
    related_field = meta.get_field(model.RELATED_FIELD)
    through_meta = related_field.remote_field.through._meta
    target_meta = related_field.related_model._meta
    owner = through_meta.get_field(meta.model_name).column
    target = through_meta.get_field(target_meta.model_name).column
    related_sql = (
        f"SELECT t.{quote(owner)}, r.{quote(target_meta.get_field('external_id').column)} "  # noqa: S608
        f"FROM {quote(through_meta.db_table)} t JOIN {quote(target_meta.db_table)} r "
        f"ON r.{quote(target_meta.pk.column)} = t.{quote(target)} WHERE "
    )
    association_meta = meta.get_field("associations").related_model._meta
    fk = association_meta.get_field("incident" if is_incident else "review").column
    associations_sql = (
        f"SELECT {quote(fk)}, {quote(association_meta.get_field('association_type').column)}, "  # noqa: S608
        f"{quote(association_meta.get_field('value').column)} "
        f"FROM {quote(association_meta.db_table)} WHERE "
    )
    with connection.cursor() as cursor:
        cursor.execute(entity_sql, which_params)
        rows = cursor.fetchall()
        pks = [row[0] for row in rows]
        related: dict[int, list[str]] = defaultdict(list)
        associations: dict[int, list[tuple[str, str]]] = defaultdict(list)
        if pks:
            which, which_params = one_of(connection, "t." + quote(owner), pks, "bigint")
            cursor.execute(related_sql + which, which_params)
            for owner_pk, related_id in cursor.fetchall():
                related[owner_pk].append(related_id)
            which, which_params = one_of(connection, quote(fk), pks, "bigint")
            cursor.execute(associations_sql + which, which_params)
            for owner_pk, association_type, value in cursor.fetchall():
                associations[owner_pk].append((association_type, value))
    build = build_incident if is_incident else build_review
    current = {}
    for pk, workspace_pk, workspace_id, *values in rows:
        fields = dict(zip(names, values, strict=True))
        for name, text in (("created_date", "created_text"), ("last_updated", "updated_text")):
            if postgresql:
                fields[text] = fields[name]
            else:
                fields[name] = _aware(fields[name])
        current[fields["external_id"]] = Current(
            workspace_pk, workspace_id, build(fields, related[pk], associations[pk])
        )
    return current


def _aware(value: Any) -> datetime:
    """A timestamp as SQLite gives it to a plain cursor (text, naive, in UTC), as Django reads
    it through a model."""
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(value)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


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
