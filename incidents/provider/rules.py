"""The rules of the four actions Jira calls, as plain functions
(https://developer.atlassian.com/cloud/jira/software/modules/operations-information-actions/).

Every function takes the calling site (`connect.models.Installation`, from the verified JWT
`iss` only) and sees only the workspaces staff linked to that site: an id of another site's
workspace, container or incident behaves exactly like an id that does not exist.
The views in `incidents.provider.views` only parse the request and call these.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import cast

from django.db import connections, transaction
from django.db.models import (
    BigIntegerField,
    Case,
    ExpressionWrapper,
    F,
    IntegerField,
    Q,
    QuerySet,
    Value,
    When,
)
from django.db.models.functions import Lower

from incidents.models import Container, Incident, Workspace, WorkspaceLink
from incidents.models.associations import (
    ACCOUNT_ID_MAX_LENGTH,
    ARI_MAX_LENGTH,
    JIRA_REFERENCE_MAX_LENGTH,
    EntityAssociation,
    EntityKind,
)
from incidents.sync.payloads import container_to_jira, workspace_to_jira
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
#: Match ranks, best first: the whole name or id, a prefix of either, anywhere in either.
RANK_EXACT, RANK_PREFIX, RANK_SUBSTRING = 0, 1, 2

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


def ranked_containers(query: str) -> QuerySet[Container]:
    """Containers whose name or id contains `query` (case-insensitive; `%` and `_` literal),
    ranked in SQL: exact match, then prefix, then substring; then by name (any case) and id."""
    if not query:
        return Container.objects.order_by(Lower("name"), "external_id")
    return (
        Container.objects.filter(Q(name__icontains=query) | Q(external_id__icontains=query))
        .annotate(
            match_rank=Case(
                When(Q(name__iexact=query) | Q(external_id__iexact=query), then=Value(RANK_EXACT)),
                When(
                    Q(name__istartswith=query) | Q(external_id__istartswith=query),
                    then=Value(RANK_PREFIX),
                ),
                default=Value(RANK_SUBSTRING),
                output_field=IntegerField(),
            )
        )
        .order_by("match_rank", Lower("name"), "external_id")
    )


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
    workspaces = linked_workspaces(installation)
    if workspace_id is not None:
        workspaces = workspaces.filter(external_id=workspace_id)
    workspace_pks = list(workspaces.values_list("pk", flat=True))
    if not workspace_pks:
        return []
    limit = max(1, min(int(limit), SEARCH_RESULTS_MAX))
    containers = in_workspaces(ranked_containers(query), workspace_pks).only(
        "external_id", "name", "url", "avatar_url", "last_updated"
    )
    return [container_to_jira(container) for container in containers[:limit]]


def in_workspaces(containers: QuerySet[Container], workspace_pks: list[int]) -> QuerySet:
    """Containers of these workspaces, filtered so that each database scans efficiently.

    SQLite's planner reads the rows through the workspace_id index, one random read per row,
    which at 100,000 containers is several times slower than scanning the table (docs/actions.md);
    `workspace_id + 0` cannot use the index, so SQLite scans. PostgreSQL chooses by statistics.
    """
    if connections[containers.db].vendor != "sqlite":
        return containers.filter(workspace_id__in=workspace_pks)
    unindexed = ExpressionWrapper(F("workspace_id") + 0, output_field=BigIntegerField())
    return containers.alias(scanned_workspace=unindexed).filter(scanned_workspace__in=workspace_pks)


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
