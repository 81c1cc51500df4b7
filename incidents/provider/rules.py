"""The rules of the four actions Jira calls, as plain functions
(https://developer.atlassian.com/cloud/jira/software/modules/operations-information-actions/).

Every function takes the calling site (`connect.models.Installation`, from the verified JWT
`iss` only) and sees only the workspaces staff linked to that site: an id of another site's
workspace, container or incident behaves exactly like an id that does not exist.
The views in `incidents.provider.views` only parse the request and call these.
"""

from __future__ import annotations

import re
import string
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, cast

from django.db import connections, transaction
from django.db.models import BooleanField, ExpressionWrapper, F, Func, Q, QuerySet, Value
from django.db.models.expressions import RawSQL
from django.db.models.functions import Collate, Lower

from incidents.models import Container, Incident, Workspace, WorkspaceLink
from incidents.models.associations import (
    ACCOUNT_ID_MAX_LENGTH,
    ARI_MAX_LENGTH,
    JIRA_REFERENCE_MAX_LENGTH,
    EntityAssociation,
    EntityKind,
)
from incidents.sync.payloads import RFC3339_SQL, container_to_jira, workspace_to_jira
from incidents.validators import CONTAINER_ID_PATTERN, ENTITY_ID_MAX_LENGTH, SAFE_ID_PATTERN

#: fetchWorkspaces: Jira learns workspace ids from linkedWorkspaces/bulk, which takes at most
#: 100 (spec SubmitOperationsWorkspacesRequest.workspaceIds maxItems); more in one call is
#: not a genuine request.
FETCH_WORKSPACES_MAX_IDS = 100
#: searchContainers: names and ids are at most 255 characters, so a longer query cannot match
#: anything; it is refused (400) rather than truncated, which would return wrong matches.
SEARCH_QUERY_MAX_LENGTH = 255
#: searchContainers answers at most this many containers (github-for-jira caps at 200).
SEARCH_RESULTS_MAX = 100
#: searchContainers: shorter queries match only at the start of a name or id. Anywhere else
#: they would match most containers, and pg_trgm's index cannot serve them (it needs a trigram).
SUBSTRING_MIN_LENGTH = 3
#: searchContainers fills the places that exact and prefix matches leave from at most this many
#: substring matches, so that a query found in most containers costs no more than a rare one.
SUBSTRING_CANDIDATES = 1000
_ASCII_LOWER = str.maketrans(string.ascii_uppercase, string.ascii_lowercase)

_SAFE_ID = re.compile(rf"\A(?:{SAFE_ID_PATTERN})\Z")
_ENTITY_ID = re.compile(rf"\A(?:{CONTAINER_ID_PATTERN}|{SAFE_ID_PATTERN})\Z")
#: Atlassian account ids: `557058:<uuid>`, 24 hex digits, or similar; never spaces or markup.
ACCOUNT_ID_PATTERN = r"[A-Za-z0-9:._-]+"
_ACCOUNT_ID = re.compile(rf"\A(?:{ACCOUNT_ID_PATTERN})\Z")


class ActionError(Exception):
    """A refused action call: `status` and a message that says what was wrong."""

    status = 400
    code = "invalid_request"

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class InvalidInput(ActionError):
    status = 400
    code = "invalid_request"


class EntityNotFound(ActionError):
    status = 404
    code = "not_found"


def text_problem(value: object, *, max_length: int) -> str | None:
    """Why `value` cannot be stored as text, or None: not a string, too long, a NUL character
    (PostgreSQL refuses it) or a lone surrogate (not encodable as UTF-8)."""
    if not isinstance(value, str):
        return f"must be a string, not {type(value).__name__}"
    if len(value) > max_length:
        return f"must be at most {max_length} characters (has {len(value)})"
    if "\x00" in value:
        return "must not contain NUL characters"
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return "must be valid Unicode text"
    return None


def linked_workspaces(installation) -> QuerySet[Workspace]:
    """The workspaces staff linked to this site: everything the site may see."""
    return Workspace.objects.filter(
        pk__in=WorkspaceLink.objects.filter(installation=installation).values("workspace_id")
    )


# --- fetchWorkspaces ---------------------------------------------------------------------------


def fetch_workspaces(installation, ids: Sequence[str]) -> list[dict]:
    """fetchWorkspaces: the requested workspaces this site may see, in the order asked.

    Unknown ids, ids of other sites' workspaces and ids that no workspace could have are
    omitted; duplicates are answered once.
    """
    if len(ids) > FETCH_WORKSPACES_MAX_IDS:
        raise InvalidInput(
            f"ask for at most {FETCH_WORKSPACES_MAX_IDS} workspace ids (got {len(ids)})",
            field="ids",
        )
    wanted = [
        workspace_id
        for workspace_id in dict.fromkeys(ids)
        if isinstance(workspace_id, str)
        and len(workspace_id) <= ENTITY_ID_MAX_LENGTH
        and _SAFE_ID.match(workspace_id)
    ]
    if not wanted:
        return []
    found = {
        workspace.external_id: workspace
        for workspace in linked_workspaces(installation).filter(external_id__in=wanted)
    }
    return [
        workspace_to_jira(found[workspace_id]) for workspace_id in wanted if workspace_id in found
    ]


# --- searchContainers --------------------------------------------------------------------------


def clean_search_query(query: str | None) -> str:
    """The query as searched: surrounding whitespace removed; refused if it cannot match."""
    if query is None:
        return ""
    problem = text_problem(query, max_length=SEARCH_QUERY_MAX_LENGTH)
    if problem:
        raise InvalidInput(f"searchQuery {problem}", field="searchQuery")
    return query.strip()


def search_key(field: str, vendor: str) -> Func:
    """`LOWER(field)` compared and ordered by code point, as the indexes of migration 0010 are:
    one order on both databases, and one in which every prefix is a contiguous index range."""
    lowered = Lower(field)
    return Collate(lowered, "C") if vendor == "postgresql" else lowered


def searchable(containers: QuerySet[Container]) -> QuerySet[Any]:
    """`containers` with their search keys, `name_key` and `id_key`, ordered by name key then id
    (the listing order of an empty query, and the order within each rank)."""
    vendor = connections[containers.db].vendor
    external_id = Collate("external_id", "C") if vendor == "postgresql" else F("external_id")
    return containers.annotate(
        name_key=search_key("name", vendor), id_key=search_key("external_id", vendor)
    ).order_by("name_key", external_id)


def _successor(text: str) -> str | None:
    """The least string greater than every string that starts with `text` (None: no bound)."""
    while text and ord(text[-1]) == sys.maxunicode:
        text = text[:-1]
    return text[:-1] + chr(ord(text[-1]) + 1) if text else None


def key_starts_with(key: str, query: str, vendor: str) -> Q:
    """`key` starts with `query` folded as the database folds it, as an index range condition.

    PostgreSQL turns `LIKE 'abc%'` on a "C"-collated key into `>= 'abc' AND < 'abd'` itself (and
    folds `LOWER('ABC')` before planning). SQLite does not on an expression, so the range is
    written out; its `LOWER` folds ASCII letters only, and so does the query here.
    """
    if vendor == "postgresql":
        return Q(**{f"{key}__startswith": Lower(Value(query))})
    folded = query.translate(_ASCII_LOWER)
    condition = Q(**{f"{key}__gte": folded})
    upper_bound = _successor(folded)
    return condition & Q(**{f"{key}__lt": upper_bound}) if upper_bound else condition


def prefix_matches(containers: QuerySet[Container], query: str, key: str) -> QuerySet:
    """Containers whose name (`key="name_key"`) or id (`"id_key"`) starts with `query`, in
    that key's order: exact matches first, as the shortest strings with the prefix."""
    vendor = connections[containers.db].vendor
    ordered = searchable(containers)
    if key == "id_key":
        external_id = Collate("external_id", "C") if vendor == "postgresql" else F("external_id")
        ordered = ordered.order_by("id_key", external_id)
    return ordered.filter(key_starts_with(key, query, vendor)).annotate(
        exact=ExpressionWrapper(Q(**{key: Lower(Value(query))}), output_field=BooleanField())
    )


def prefix_walks(
    containers: QuerySet[Container], query: str, limit: int
) -> tuple[list[Any], list[Any]]:
    """The first `limit` name prefix matches and the first `limit` id prefix matches, each in
    its key's order; in one statement (`UNION ALL`) where the database allows it."""
    by_name = prefix_matches(containers, query, "name_key").annotate(walk=Value(0))[:limit]
    by_id = prefix_matches(containers, query, "id_key").annotate(walk=Value(1))[:limit]
    if not connections[containers.db].features.supports_slicing_ordering_in_compound:
        return list(by_name), list(by_id)
    rows = list(by_name.union(by_id, all=True))
    return (
        sorted(
            (row for row in rows if row.walk == 0),
            key=lambda row: (row.name_key, row.external_id),
        ),
        sorted(
            (row for row in rows if row.walk == 1), key=lambda row: (row.id_key, row.external_id)
        ),
    )


def substring_matches(
    containers: QuerySet[Container], query: str, candidates: int, workspace_pks: list[int]
) -> QuerySet:
    """`containers` (of `workspace_pks`) whose name or id contains `query`, among the first
    `candidates` found, in name key order.

    On PostgreSQL (where searchContainers itself runs `ranked_search_sql`) the candidates
    come from `incidents_container_trigram_candidates()` (migration 0021), which may use only
    the trigram indexes of the folded name and id: given a LIMIT, the planner would rather
    read the table in order until enough rows match, which assumes matches spread evenly; when
    they are bunched (the ids `svc-2…` sit in one stretch of the table) it reads hundreds of
    thousands of rows. Prefix matches are not excluded here but by the caller: a
    `NOT LIKE 'abc%'` beside `LIKE '%abc%'` is estimated as if independent.
    """
    connection = connections[containers.db]
    found: Any
    if connection.vendor == "postgresql":
        found = RawSQL(
            "SELECT incidents_container_trigram_candidates(%s, %s::bigint[], %s, %s)",
            (query, workspace_pks, candidates, candidates),
        )
    else:
        found = (
            containers.filter(Q(name__icontains=query) | Q(external_id__icontains=query))
            .order_by()
            .values("pk")[:candidates]
        )
    return searchable(containers.filter(pk__in=found))


def ranked_containers(
    workspace_pks: list[int], query: str, limit: int = SEARCH_RESULTS_MAX
) -> list[Container]:
    """At most `limit` containers of these workspaces matching `query`, best first
    (docs/actions.md), with the ORM: SQLite's way (PostgreSQL's is `ranked_search_sql`).

    exact matches of a name or id; then name prefixes, by name; then id prefixes, by id; then,
    for queries of SUBSTRING_MIN_LENGTH characters or more, other substrings, by name. Each
    rank is one index range scan that stops at `limit` rows, and the substring search runs
    only when the prefixes leave places free. Ties go by name key, then id.
    """
    containers = in_workspaces(
        Container.objects.only("external_id", "name", "url", "avatar_url", "last_updated"),
        workspace_pks,
    )
    if not query:
        return list(searchable(containers)[:limit])
    by_name, by_id = prefix_walks(containers, query, limit)
    exact = sorted(
        {container.pk: container for container in by_name + by_id if container.exact}.values(),
        key=lambda container: (container.name_key, container.external_id),
    )
    ranked = {container.pk: container for container in exact}
    for container in by_name + by_id:
        ranked.setdefault(container.pk, container)
    if len(ranked) < limit and len(query) >= SUBSTRING_MIN_LENGTH:
        # Fewer than `limit` prefix matches: all of them are in `ranked`, and may come again.
        candidates = SUBSTRING_CANDIDATES + len(ranked)
        found = substring_matches(containers, query, candidates, workspace_pks)[:limit]
        for container in found:
            ranked.setdefault(container.pk, container)
    return list(ranked.values())[:limit]


#: The columns a PostgreSQL search statement reads per container: searchContainers' fields
#: (the date already in RFC 3339, `incidents.sync.payloads.RFC3339_SQL`), then the two search
#: keys.
_COLUMNS = (
    "c.id, c.external_id, c.name, c.url, c.avatar_url, "
    f"{RFC3339_SQL.format('c.last_updated')} AS updated, "
    'LOWER(c.name) COLLATE "C" AS name_key, LOWER(c.external_id) COLLATE "C" AS id_key'
)
_ANSWER = "external_id, name, url, avatar_url, updated"
_TABLE = '"incidents_container"'
_NAME_KEY = 'LOWER(c.name) COLLATE "C"'
#: The workspaces filter: one array parameter. Bound on the client like every value, it reaches
#: the planner as a constant, as an IN list would; five IN lists of one placeholder per
#: workspace cost psycopg about 0.5 ms more to bind (80 workspaces).
_WORKSPACES = "ANY(%s::bigint[])"
_ID = 'c.external_id COLLATE "C"'


def _walk_sql(kind: str, walk: int) -> str:
    """The ids `incidents_container_{kind}_walk()` (migration 0018) answers, as rank `walk`
    (parameters: the query, the workspace pks as an array, the limit)."""
    return (
        f"SELECT {walk} AS walk, w.id FROM "  # noqa: S608 (fixed text, values bound)
        f"incidents_container_{kind}_walk(LOWER(%s), %s::bigint[], %s) AS w(id)"
    )


def ranked_search_sql(workspace_pks: list[int], query: str, limit: int) -> tuple[str, list[Any]]:
    """searchContainers on PostgreSQL as one statement and its parameters (every value bound:
    the query is never part of the SQL text). Rows: `_ANSWER`, best first.

    The exact and prefix ranks are two index walks (name key, id key; the functions of
    migration 0018, which always read the index range in order) in one CTE. The substring
    candidates (`incidents_container_substring_candidates()`, migration 0021: at most `limit`
    of them, already the first by name) are asked for only under a one-time filter on how many
    containers the walks found, so the function does not run when the prefixes fill every
    place. Each id keeps its best rank (0 exact, 1 name prefix, 2 id prefix, 3 substring); only
    then are the rows read, by primary key, and the answer's columns computed for those kept.
    """
    if not query:
        sql = (
            f"SELECT {_ANSWER} FROM (SELECT {_COLUMNS} FROM {_TABLE} c "  # noqa: S608 (fixed text, values bound)
            f"WHERE c.workspace_id = {_WORKSPACES} "
            f"ORDER BY {_NAME_KEY}, {_ID} LIMIT %s) AS listing"
        )
        return sql, [workspace_pks, limit]
    params: list[Any] = [query, workspace_pks, limit] * 2
    found = "SELECT walk, id FROM walks"
    if len(query) >= SUBSTRING_MIN_LENGTH:
        found += (
            " UNION ALL SELECT 3, s.id FROM incidents_container_substring_candidates("
            "%s, %s::bigint[], %s + (SELECT count(*) FROM walks)::integer, %s) AS s(id) "
            "WHERE (SELECT count(DISTINCT id) FROM walks) < %s"
        )
        params += [query, workspace_pks, SUBSTRING_CANDIDATES, limit, limit]
    sql = (
        f"WITH walks AS MATERIALIZED ({_walk_sql('name', 1)} UNION ALL {_walk_sql('id', 2)}), "  # noqa: S608 (fixed text, values bound)
        f"best AS MATERIALIZED (SELECT DISTINCT ON (id) id, walk FROM ({found}) AS f "
        "ORDER BY id, walk) "
        f"SELECT {_ANSWER} FROM (SELECT {_COLUMNS} FROM {_TABLE} c "
        f"WHERE c.id = ANY(ARRAY(SELECT id FROM best)) AND c.workspace_id = {_WORKSPACES}) AS c "
        "JOIN best USING (id), LATERAL (SELECT CASE WHEN best.walk < 3 AND "
        "(c.name_key = LOWER(%s) OR c.id_key = LOWER(%s)) THEN 0 ELSE best.walk END AS rank) r "
        'ORDER BY r.rank, CASE WHEN r.rank = 2 THEN c.id_key ELSE c.name_key END COLLATE "C", '
        'c.external_id COLLATE "C" LIMIT %s'
    )
    return sql, [*params, workspace_pks, query, query, limit]


def _site_workspace_pks(installation, workspace_id: str | None) -> list[int]:
    """The pks of the workspaces linked to this site (only `workspace_id`'s, when given).

    Written out rather than through the ORM, whose compilation costs more than the query itself
    on this path, which every search takes (0.45 ms against 0.19 ms).
    """
    links, workspaces = WorkspaceLink._meta.db_table, Workspace._meta.db_table
    sql = f'SELECT l.workspace_id FROM "{links}" l'  # noqa: S608 (fixed text, values bound)
    params: list[Any] = []
    if workspace_id is not None:
        sql += f' JOIN "{workspaces}" w ON w.id = l.workspace_id AND w.external_id = %s'
        params.append(workspace_id)
    with connections["default"].cursor() as cursor:
        cursor.execute(f"{sql} WHERE l.installation_id = %s", [*params, installation.pk])
        return [row[0] for row in cursor.fetchall()]


def search_containers(
    installation,
    query: str | None,
    workspace_id: str | None = None,
    limit: int = SEARCH_RESULTS_MAX,
) -> list[dict]:
    """searchContainers: at most `limit` (≤ 100) matching containers of this site's workspaces.

    An empty or absent query lists the containers by name. `workspace_id` narrows the search
    to one workspace; one the site may not see gives an empty list, like an unknown one.
    """
    query = clean_search_query(query)
    if workspace_id is not None:
        problem = text_problem(workspace_id, max_length=ENTITY_ID_MAX_LENGTH)
        if problem:
            raise InvalidInput(f"workspaceId {problem}", field="workspaceId")
        if not _SAFE_ID.match(workspace_id):
            return []
    workspace_pks = _site_workspace_pks(installation, workspace_id)
    if not workspace_pks:
        return []
    limit = max(1, min(int(limit), SEARCH_RESULTS_MAX))
    connection = connections["default"]
    if connection.vendor != "postgresql":
        return [
            container_to_jira(container)
            for container in ranked_containers(workspace_pks, query, limit)
        ]
    with connection.cursor() as cursor:
        cursor.execute(*ranked_search_sql(workspace_pks, query, limit))
        rows = cursor.fetchall()
    answer = []
    for external_id, name, url, avatar_url, last_updated in rows:
        container = {"id": external_id, "name": name, "url": url, "lastUpdatedDate": last_updated}
        if avatar_url:
            container["avatarUrl"] = avatar_url
        answer.append(container)
    return answer


def in_workspaces(containers: QuerySet[Container], workspace_pks: list[int]) -> QuerySet:
    """Containers of these workspaces: the calling site's, which is all it may see."""
    return containers.filter(workspace_id__in=workspace_pks)


# --- onEntityAssociated / onEntityDisassociated ------------------------------------------------


@dataclass(frozen=True)
class JiraTarget:
    """The Jira project or issue an entity is connected to (`associatedWith`)."""

    ari: str
    ati: str = ""
    cloud_id: str = ""
    id: str = ""

    def __post_init__(self) -> None:
        if not self.ari:
            raise InvalidInput("the Jira target needs an 'ari'", field="ari")
        limits = {
            "ari": ARI_MAX_LENGTH,
            "ati": JIRA_REFERENCE_MAX_LENGTH,
            "cloudId": JIRA_REFERENCE_MAX_LENGTH,
            "id": JIRA_REFERENCE_MAX_LENGTH,
        }
        values = {"ari": self.ari, "ati": self.ati, "cloudId": self.cloud_id, "id": self.id}
        for name, value in values.items():
            problem = text_problem(value, max_length=limits[name])
            if problem:
                raise InvalidInput(f"{name} {problem}", field=name)


def acting_account_id(*candidates: object) -> str | None:
    """The first non-empty account id of `candidates` (body `user.id`, `userId` query
    parameter, JWT `sub`, in that order); a malformed one is refused, not skipped."""
    for candidate in candidates:
        if candidate is None or candidate == "":
            continue
        problem = text_problem(candidate, max_length=ACCOUNT_ID_MAX_LENGTH)
        # text_problem() finds none only in a string.
        if problem is None and not _ACCOUNT_ID.match(cast(str, candidate)):
            problem = "must be an Atlassian account id (letters, digits and : . _ -)"
        if problem:
            raise InvalidInput(f"the user id {problem}", field="user")
        return cast(str, candidate)
    return None


def _kinds_to_try(entity_ari: str) -> list[str]:
    """Containers first, unless the entity ARI names an incident (`…:operations-incident/id`)."""
    resource = entity_ari.split(":", 4)[4] if entity_ari.count(":") >= 4 else ""
    if "incident" in resource.split("/", 1)[0].lower():
        return [EntityKind.INCIDENT, EntityKind.CONTAINER]
    return [EntityKind.CONTAINER, EntityKind.INCIDENT]


def find_entity(installation, entity_id: str, entity_ari: str = "") -> Container | Incident:
    """The container or incident `entity_id` names, if this site may see it; else EntityNotFound
    with the same message whether it is unknown or another site's."""
    not_found = EntityNotFound(f"no container or incident {entity_id!r} for this site")
    if not isinstance(entity_id, str) or not _ENTITY_ID.match(entity_id):
        raise not_found
    if len(entity_id) > ENTITY_ID_MAX_LENGTH:
        raise not_found
    workspaces = linked_workspaces(installation).values("pk")
    models: dict[str, type[Container] | type[Incident]] = {
        EntityKind.CONTAINER: Container,
        EntityKind.INCIDENT: Incident,
    }
    for kind in _kinds_to_try(entity_ari if isinstance(entity_ari, str) else ""):
        found = (
            models[kind]
            .objects.filter(external_id=entity_id, workspace__in=workspaces)
            .only("pk", "external_id")
            .first()
        )
        if found is not None:
            return found
    raise not_found


def _entity_fields(entity: Container | Incident) -> dict:
    if isinstance(entity, Incident):
        return {"entity_kind": EntityKind.INCIDENT, "incident": entity, "container": None}
    return {"entity_kind": EntityKind.CONTAINER, "container": entity, "incident": None}


def _check_entity_ari(entity_ari: str) -> None:
    problem = text_problem(entity_ari, max_length=ARI_MAX_LENGTH)
    if problem:
        raise InvalidInput(f"entity.ari {problem}", field="entity")


def record_association(
    installation,
    *,
    entity_id: str,
    target: JiraTarget,
    entity_ari: str = "",
    account_id: str | None = None,
) -> tuple[EntityAssociation, bool]:
    """onEntityAssociated: remember that `target` is connected to the entity; (row, created).

    Idempotent: a replay finds the first row and leaves it as it was, who and when included.
    """
    _check_entity_ari(entity_ari)
    entity = find_entity(installation, entity_id, entity_ari)
    fields = _entity_fields(entity)
    with transaction.atomic():
        return EntityAssociation.objects.get_or_create(
            installation=installation,
            entity_kind=fields["entity_kind"],
            entity_id=entity.external_id,
            target_ari=target.ari,
            defaults={
                "container": fields["container"],
                "incident": fields["incident"],
                "entity_ari": entity_ari,
                "target_ati": target.ati,
                "target_cloud_id": target.cloud_id,
                "target_id": target.id,
                "associated_by": account_id or "",
            },
        )


def remove_association(
    installation, *, entity_id: str, target: JiraTarget, entity_ari: str = ""
) -> int:
    """onEntityDisassociated: forget that `target` is connected to the entity; rows removed
    (0 on a replay, which is not an error)."""
    _check_entity_ari(entity_ari)
    entity = find_entity(installation, entity_id, entity_ari)
    deleted, _ = EntityAssociation.objects.filter(
        installation=installation,
        entity_kind=_entity_fields(entity)["entity_kind"],
        entity_id=entity.external_id,
        target_ari=target.ari,
    ).delete()
    return deleted
