"""Jira's side of the Operations REST API: the 9 operations of the spec, with its status codes.

Each request is authenticated (401), authorised by module and scope (403), validated (400/413),
then applied to the site's in-memory store. Jira applies writes and deletes asynchronously; the
simulator applies them at once, so a GET right after a 202 already sees the change.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import TYPE_CHECKING
from urllib.parse import unquote

from jirasim import contract, tokens
from jirasim.state import INCIDENTS, REVIEWS, Installation, Site
from jirasim.validation import (
    RequestInvalid,
    check_submit_request,
    check_workspaces_request,
    entity_errors,
)
from jirasim.wire import Request, Response

if TYPE_CHECKING:
    from jirasim.simulator import Simulator

Handler = Callable[["Simulator", Site, Installation, Request, dict], Response]

#: An issue key such as OPS-12: the project key is the part before the dash.
_ISSUE_KEY = re.compile(r"^([A-Za-z][A-Za-z0-9_]*)-\d+$")
_KIND_TITLE = {INCIDENTS: "Incident", REVIEWS: "Review"}


def _json_body(request: Request) -> object:
    try:
        return json.loads(request.body.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise RequestInvalid(400, f"the request body is not valid JSON: {error}") from None


def _path_id(match: dict, kind: str) -> str:
    entity_id = unquote(match["id"])
    if len(entity_id) > contract.MAX_ID_LENGTH:
        raise RequestInvalid(400, f"{kind} id is longer than {contract.MAX_ID_LENGTH} characters")
    return entity_id


def _entity_key(entity: object, index: int) -> str:
    if isinstance(entity, dict) and isinstance(entity.get("id"), str):
        return entity["id"]
    return f"[{index}]"


def _unknown_project_keys(site: Site, entity: dict) -> tuple[set[str], bool]:
    """Return the unknown project keys an entity's issue associations name, and whether all are.

    A site created without a project list knows every project key.
    """
    keys = set()
    for association in entity.get("associations") or []:
        if association.get("associationType") == "issueIdOrKeys":
            for value in association.get("values") or []:
                match = _ISSUE_KEY.match(value)
                if match:
                    keys.add(match.group(1).upper())
    if site.projects is None or not keys:
        return set(), False
    unknown = keys - set(site.projects)
    return unknown, unknown == keys


def submit_entities(sim: Simulator, site: Site, app: Installation, request: Request, _m: dict):
    """POST /bulk: validate each incident/review on its own; store by last-writer-wins.

    Validation runs outside the lock, so concurrent senders are only serialised while storing.
    """
    incidents, reviews, properties = check_submit_request(_json_body(request))
    result: dict = {"acceptedIncidents": []}
    unknown_keys: set[str] = set()
    to_store: list[tuple[str, dict]] = []
    for kind, entities in ((INCIDENTS, incidents), (REVIEWS, reviews)):
        accepted_key = "acceptedIncidents" if kind == INCIDENTS else "acceptedReviews"
        failed_key = "failedIncidents" if kind == INCIDENTS else "failedReviews"
        if kind == REVIEWS and entities:
            result[accepted_key] = []
        for index, entity in enumerate(entities):
            errors = entity_errors(_KIND_TITLE[kind], entity)
            if errors:
                result.setdefault(failed_key, {})[_entity_key(entity, index)] = [
                    {"message": message} for message in errors
                ]
                continue
            unknown, only_unknown = _unknown_project_keys(site, entity)
            unknown_keys |= unknown
            if not only_unknown:
                to_store.append((kind, entity))
                result[accepted_key].append(entity["id"])
    now = sim.clock()
    with sim.lock:
        data = site.app_data(app.app_key)
        for kind, entity in to_store:
            data.submit(kind, entity, properties, now)
    if unknown_keys:
        result["unknownProjectKeys"] = sorted(unknown_keys)
    return Response.json(202, result, entities=len(incidents) + len(reviews))


def delete_by_properties(sim: Simulator, site: Site, app: Installation, request: Request, _m):
    """DELETE /bulkByProperties?k=v&...: delete what matches ALL the given properties."""
    params = [(key, value) for key, value in request.params() if key != "jwt"]
    if not params:
        raise RequestInvalid(400, "at least one property must be given as a query parameter")
    properties = dict(params)
    if len(properties) != len(params):
        raise RequestInvalid(400, "each property may be given only once")
    with sim.lock:
        deleted = site.app_data(app.app_key).delete_matching(properties)
    return Response(202, entities=deleted)


def get_entity(kind: str) -> Handler:
    def handler(sim: Simulator, site: Site, app: Installation, request: Request, match: dict):
        entity_id = _path_id(match, _KIND_TITLE[kind])
        with sim.lock:
            stored = site.app_data(app.app_key).store(kind).get(entity_id)
            data = None if stored is None else stored.data
        if data is None:
            return Response.errors(404, f"No data found for the given {_KIND_TITLE[kind]} ID.")
        return Response.json(200, data)

    return handler


def delete_entity(kind: str) -> Handler:
    def handler(sim: Simulator, site: Site, app: Installation, request: Request, match: dict):
        entity_id = _path_id(match, _KIND_TITLE[kind])
        with sim.lock:
            deleted = site.app_data(app.app_key).store(kind).pop(entity_id, None)
        return Response(202, entities=0 if deleted is None else 1)

    return handler


def submit_workspaces(sim: Simulator, site: Site, app: Installation, request: Request, _m):
    """POST linkedWorkspaces/bulk: link ids; ids already linked are listed and left as they are."""
    ids = check_workspaces_request(_json_body(request))
    accepted = list(dict.fromkeys(ids))
    now = sim.clock()
    with sim.lock:
        workspaces = site.app_data(app.app_key).workspaces
        for workspace_id in accepted:
            workspaces.setdefault(workspace_id, now)
    return Response.json(202, {"acceptedWorkspaceIds": accepted}, entities=len(ids))


def delete_workspaces(sim: Simulator, site: Site, app: Installation, request: Request, _m):
    """DELETE linkedWorkspaces/bulk?workspaceIds=a,b (comma-separated and/or repeated)."""
    ids = [
        part
        for key, value in request.params()
        if key == "workspaceIds"
        for part in value.split(",")
        if part
    ]
    if not ids:
        raise RequestInvalid(400, "the workspaceIds query parameter is required (comma-separated)")
    with sim.lock:
        workspaces = site.app_data(app.app_key).workspaces
        for workspace_id in ids:
            workspaces.pop(workspace_id, None)
    return Response(202, entities=len(ids))


def get_workspaces(sim: Simulator, site: Site, app: Installation, request: Request, _m):
    """GET linkedWorkspaces[?workspaceId=x]: all linked ids, or 404 if ``x`` is not linked."""
    wanted = request.param("workspaceId")
    with sim.lock:
        linked = list(site.app_data(app.app_key).workspaces)
    if wanted is None:
        return Response.json(200, {"workspaceIds": linked})
    if wanted not in linked:
        return Response.errors(404, "No data found for the given Workspace ID.")
    return Response.json(200, {"workspaceIds": [wanted]})


_P = re.escape(contract.API_PREFIX)
ROUTES: list[tuple[re.Pattern, dict[str, Handler]]] = [
    (
        re.compile(rf"^{_P}/linkedWorkspaces/bulk$"),
        {"POST": submit_workspaces, "DELETE": delete_workspaces},
    ),
    (re.compile(rf"^{_P}/linkedWorkspaces$"), {"GET": get_workspaces}),
    (re.compile(rf"^{_P}/bulk$"), {"POST": submit_entities}),
    (re.compile(rf"^{_P}/bulkByProperties$"), {"DELETE": delete_by_properties}),
    (
        re.compile(rf"^{_P}/incidents/(?P<id>[^/]+)$"),
        {"GET": get_entity(INCIDENTS), "DELETE": delete_entity(INCIDENTS)},
    ),
    (
        re.compile(rf"^{_P}/post-incident-reviews/(?P<id>[^/]+)$"),
        {"GET": get_entity(REVIEWS), "DELETE": delete_entity(REVIEWS)},
    ),
]


def authenticate(sim: Simulator, site: Site, request: Request, path: str) -> Installation:
    """Return the installed app a request's JWT proves it comes from, or raise TokenRejected."""
    token = tokens.bearer_token(request.header("authorization"))
    issuer = tokens.unverified_issuer(token)
    with sim.lock:
        installation = site.active_installation(issuer)
    if installation is None:
        raise tokens.TokenRejected(
            "unknown-iss", "JWT iss is not the key of an app installed on this site"
        )
    tokens.verify_hs256(
        token,
        installation.shared_secret,
        method=request.method,
        path=path,
        query=request.query,
        now=sim.clock(),
    )
    return installation


def _forbidden(app: Installation, method: str) -> Response | None:
    if not app.has_operations_module:
        return Response.errors(
            403,
            f"The app does not define the {contract.MODULE_KEY} module.",
            app_key=app.app_key,
        )
    scope = contract.SCOPE_BY_METHOD[method]
    if scope not in app.scopes:
        return Response.errors(
            403, f"The app does not define the '{scope}' scope.", app_key=app.app_key
        )
    return None


def handle(sim: Simulator, site: Site, request: Request, path: str) -> Response:
    """Answer one Operations API request; ``path`` is relative to the site's baseUrl."""
    for pattern, methods in ROUTES:
        match = pattern.match(path)
        if match is None:
            continue
        handler = methods.get(request.method)
        if handler is None:
            response = Response.errors(405, f"{request.method} is not allowed on this resource")
            response.headers["Allow"] = ", ".join(sorted(methods))
            return response
        try:
            app = authenticate(sim, site, request, path)
        except tokens.TokenRejected as rejected:
            sim.count(f"jwt-rejected:{rejected.code}")
            response = Response.errors(401, rejected.reason)
            response.headers["WWW-Authenticate"] = 'JWT realm="jirasim"'
            return response
        forbidden = _forbidden(app, request.method)
        if forbidden is not None:
            return forbidden
        try:
            response = handler(sim, site, app, request, match.groupdict())
        except RequestInvalid as invalid:
            response = Response.errors(invalid.status, *invalid.messages)
        response.app_key = app.app_key
        return response
    return Response.errors(404, f"No such Operations API resource: {path}")
