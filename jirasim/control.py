"""The simulator's control API under ``/_sim/``: inspect, configure faults, drive Jira's side.

It is for the people and tests running the simulator, not part of Jira's contract. It has no
authentication: bind the simulator to a loopback address. It never returns a shared secret.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import TYPE_CHECKING

from jirasim.errors import SimulatorError
from jirasim.faults import FaultConfigError, Faults
from jirasim.wire import Request, Response

if TYPE_CHECKING:
    from jirasim.simulator import Simulator


class BadControlRequest(Exception):
    pass


def _body(request: Request) -> dict:
    if not request.body:
        return {}
    try:
        data = json.loads(request.body.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise BadControlRequest(f"the body is not valid JSON: {error}") from None
    if not isinstance(data, dict):
        raise BadControlRequest("the body must be a JSON object")
    return data


def _error(status: int, message: str) -> Response:
    return Response.json(status, {"error": message})


def _int_param(request: Request, name: str, default: int | None) -> int | None:
    value = request.param(name)
    if value is None:
        return default
    if not value.isdigit():
        raise BadControlRequest(f"{name} must be a whole number")
    return int(value)


def _site_args(body: dict) -> dict:
    return {"site": body.get("site", "default"), "app_key": body.get("appKey")}


def _user(body: dict) -> dict:
    return {"user_id": body["userId"]} if "userId" in body else {}


def _outcome(result) -> Response:
    """200 when the app did what Jira expects, else 502 (the app failed), with the details."""
    return Response.json(200 if result.ok else 502, result.to_public())


def health(sim: Simulator, request: Request, _m) -> Response:
    return Response.json(200, {"ok": True, "url": sim.public_url})


def state(sim: Simulator, request: Request, _m) -> Response:
    return Response.json(200, sim.snapshot())


def sites(sim: Simulator, request: Request, _m) -> Response:
    if request.method == "POST":
        body = _body(request)
        projects = body.get("projects")
        if projects is not None and not (
            isinstance(projects, dict)
            and all(isinstance(k, str) and isinstance(v, str) for k, v in projects.items())
        ):
            raise BadControlRequest("projects must map project keys to project ids (strings)")
        site = sim.create_site(str(body.get("name", "")), projects=projects)
        return Response.json(201, site.to_public(sim.public_url))
    return Response.json(200, sim.snapshot()["sites"])


def one_site(sim: Simulator, request: Request, match) -> Response:
    return Response.json(200, sim.site(match["name"]).to_public(sim.public_url))


def installations(sim: Simulator, request: Request, _m) -> Response:
    listed = [
        {"site": site["name"], **installation}
        for site in sim.snapshot()["sites"]
        for installation in site["installations"]
    ]
    return Response.json(200, listed)


def log(sim: Simulator, request: Request, _m) -> Response:
    limit = _int_param(request, "limit", None)
    since = _int_param(request, "since", 0) or 0
    return Response.json(200, {"entries": sim.log.entries(limit=limit, since=since)})


def reset(sim: Simulator, request: Request, _m) -> Response:
    sim.reset(data_only=bool(_body(request).get("data_only")))
    return Response.json(200, {"ok": True})


def faults(sim: Simulator, request: Request, _m) -> Response:
    try:
        if request.method == "POST":
            sim.faults.update(**_body(request))
        elif request.method == "DELETE":
            sim.faults.configure(Faults())
    except (FaultConfigError, TypeError) as error:
        raise BadControlRequest(str(error)) from None
    return Response.json(200, sim.faults.faults.to_public())


def install_key(sim: Simulator, request: Request, match) -> Response:
    key = sim.install_keys.get(match["kid"])
    if key is None:
        return _error(404, "no install key with this kid")
    return Response.text(200, key.public_pem, content_type="application/x-pem-file")


def rotate_install_key(sim: Simulator, request: Request, _m) -> Response:
    return Response.json(200, {"kid": sim.rotate_install_key()})


def install(sim: Simulator, request: Request, _m) -> Response:
    body = _body(request)
    if not isinstance(body.get("descriptorUrl"), str):
        raise BadControlRequest("descriptorUrl is required")
    return _outcome(sim.install(body["descriptorUrl"], site=body.get("site", "default")))


def uninstall(sim: Simulator, request: Request, _m) -> Response:
    return _outcome(sim.uninstall(**_site_args(_body(request))))


def fetch_workspaces(sim: Simulator, request: Request, _m) -> Response:
    body = _body(request)
    ids = body.get("ids")
    if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
        raise BadControlRequest("ids must be a list of strings")
    return _outcome(sim.fetch_workspaces(ids, **_site_args(body), **_user(body)))


def search_containers(sim: Simulator, request: Request, _m) -> Response:
    body = _body(request)
    return _outcome(
        sim.search_containers(
            str(body.get("query", "")),
            workspace_id=body.get("workspaceId"),
            **_site_args(body),
            **_user(body),
        )
    )


def _association(associate: bool):
    def handler(sim: Simulator, request: Request, _m) -> Response:
        body = _body(request)
        if not isinstance(body.get("containerId"), str) or not isinstance(
            body.get("projectId"), str
        ):
            raise BadControlRequest("containerId and projectId are required strings")
        call = sim.associate if associate else sim.disassociate
        return _outcome(
            call(body["containerId"], body["projectId"], **_site_args(body), **_user(body))
        )

    return handler


ControlHandler = Callable[["Simulator", Request, dict], Response]
ROUTES: list[tuple[re.Pattern, dict[str, ControlHandler]]] = [
    (re.compile(r"^/_sim/health$"), {"GET": health}),
    (re.compile(r"^/_sim/state$"), {"GET": state}),
    (re.compile(r"^/_sim/sites$"), {"GET": sites, "POST": sites}),
    (re.compile(r"^/_sim/sites/(?P<name>[^/]+)$"), {"GET": one_site}),
    (re.compile(r"^/_sim/installations$"), {"GET": installations}),
    (re.compile(r"^/_sim/log$"), {"GET": log}),
    (re.compile(r"^/_sim/reset$"), {"POST": reset}),
    (re.compile(r"^/_sim/faults$"), {"GET": faults, "POST": faults, "DELETE": faults}),
    (re.compile(r"^/_sim/install-keys/rotate$"), {"POST": rotate_install_key}),
    (re.compile(r"^/_sim/install-keys/(?P<kid>[A-Za-z0-9._-]{1,128})$"), {"GET": install_key}),
    (re.compile(r"^/_sim/install$"), {"POST": install}),
    (re.compile(r"^/_sim/uninstall$"), {"POST": uninstall}),
    (re.compile(r"^/_sim/actions/fetch-workspaces$"), {"POST": fetch_workspaces}),
    (re.compile(r"^/_sim/actions/search-containers$"), {"POST": search_containers}),
    (re.compile(r"^/_sim/actions/associate$"), {"POST": _association(True)}),
    (re.compile(r"^/_sim/actions/disassociate$"), {"POST": _association(False)}),
]


def handle(sim: Simulator, request: Request) -> Response:
    for pattern, methods in ROUTES:
        match = pattern.match(request.path)
        if match is None:
            continue
        handler = methods.get(request.method)
        if handler is None:
            return _error(405, f"{request.method} is not allowed here")
        try:
            return handler(sim, request, match.groupdict())
        except BadControlRequest as error:
            return _error(400, str(error))
        except SimulatorError as error:
            return _error(error.status, str(error))
    return _error(404, f"no control endpoint {request.path}")
