"""``python -m jirasim``: serve the simulator, or drive a running one through its control API."""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys

import requests

from jirasim.faults import RATE_LIMIT_REASONS, Faults

DEFAULT_PORT = 8100
DEFAULT_SERVER = os.environ.get("JIRASIM_URL", f"http://127.0.0.1:{DEFAULT_PORT}")


def _fault_flags(parser: argparse.ArgumentParser, *, defaults: bool) -> None:
    """Fault flags shared by ``serve`` and ``faults``; without defaults, unset flags are kept."""
    d = Faults() if defaults else None

    def default(name):
        return getattr(d, name) if d else None

    group = parser.add_argument_group("faults and limits (REST API requests only)")
    group.add_argument(
        "--fail-rate",
        type=float,
        default=default("fail_rate"),
        help="fraction answered with an error status (default 0)",
    )
    group.add_argument(
        "--fail-status",
        type=lambda v: tuple(int(s) for s in v.split(",")),
        dest="fail_statuses",
        default=default("fail_statuses"),
        help="error statuses to choose from, comma-separated (default 500,503)",
    )
    group.add_argument(
        "--throttle-rate",
        type=float,
        default=default("throttle_rate"),
        help="fraction answered 429 with Retry-After (default 0)",
    )
    group.add_argument(
        "--retry-after",
        type=int,
        default=default("retry_after"),
        help="Retry-After seconds on injected 429 and 503 (default 1)",
    )
    group.add_argument(
        "--drop-rate",
        type=float,
        default=default("drop_rate"),
        help="fraction whose connection is closed unanswered, not applied",
    )
    group.add_argument(
        "--drop-response-rate",
        type=float,
        default=default("drop_response_rate"),
        help="fraction applied, then closed unanswered (a lost 202)",
    )
    group.add_argument(
        "--slow-rate",
        type=float,
        default=default("slow_rate"),
        help="fraction answered after --slow-ms",
    )
    group.add_argument(
        "--slow-ms",
        type=int,
        default=default("slow_ms"),
        help="delay of slow answers in ms (default 2000)",
    )
    group.add_argument(
        "--latency-ms",
        type=int,
        default=default("latency_ms"),
        help="delay added to every answer in ms (default 0)",
    )
    group.add_argument(
        "--rate-limit-per-minute",
        type=int,
        default=default("rate_limit_per_minute"),
        help="requests per site per minute before 429 + X-RateLimit-* headers",
    )
    group.add_argument(
        "--rate-limit-reason",
        choices=RATE_LIMIT_REASONS,
        default=default("rate_limit_reason"),
        help="RateLimit-Reason header of 429s (default jira-burst-based)",
    )
    group.add_argument(
        "--seed",
        type=int,
        default=default("seed"),
        help="seed of the fault RNG, for reproducible runs",
    )
    group.add_argument(
        "--down",
        action="store_true",
        default=False if d else None,
        help="answer every REST request 503 (an outage)",
    )


_FAULT_NAMES = [
    "fail_rate", "fail_statuses", "throttle_rate", "retry_after", "drop_rate",
    "drop_response_rate", "slow_rate", "slow_ms", "latency_ms", "rate_limit_per_minute",
    "rate_limit_reason", "seed", "down",
]  # fmt: skip


def _faults_from(args: argparse.Namespace) -> dict:
    return {name: getattr(args, name) for name in _FAULT_NAMES if getattr(args, name) is not None}


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m jirasim", description="A local stand-in for Jira Cloud (Operations API)."
    )
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="run the simulator")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=DEFAULT_PORT)
    serve.add_argument("--public-url", help="URL apps use to reach it (default http://host:port)")
    serve.add_argument(
        "--site",
        action="append",
        default=[],
        metavar="NAME",
        help="also create the site /site/NAME (repeatable)",
    )
    serve.add_argument(
        "--allow-app-host",
        action="append",
        default=[],
        metavar="HOST",
        help="an app host the simulator may call besides loopback ('*': any)",
    )
    serve.add_argument("--verbose", action="store_true", help="log every HTTP request")
    _fault_flags(serve, defaults=True)

    def client(name: str, help_text: str) -> argparse.ArgumentParser:
        sub = commands.add_parser(name, help=help_text)
        sub.add_argument(
            "--server",
            default=DEFAULT_SERVER,
            help=f"the running simulator (default {DEFAULT_SERVER}, or $JIRASIM_URL)",
        )
        return sub

    def targeted(name: str, help_text: str) -> argparse.ArgumentParser:
        sub = client(name, help_text)
        sub.add_argument("--site", default="default")
        sub.add_argument("--app", help="app key (needed when several apps are installed)")
        return sub

    install = client("install", "install an app from its descriptor URL")
    install.add_argument("descriptor_url")
    install.add_argument("--site", default="default")
    targeted("uninstall", "uninstall an app (signed callback, then its data is deleted)")
    fetch = targeted("fetch-workspaces", "call the app's fetchWorkspaces action")
    fetch.add_argument("ids", nargs="+")
    search = targeted("search-containers", "call the app's searchContainers action")
    search.add_argument("query", nargs="?", default="")
    search.add_argument("--workspace-id")
    for name, verb in (("associate", "connect"), ("disassociate", "disconnect")):
        sub = targeted(name, f"{verb} a container and a project, and tell the app")
        sub.add_argument("container_id")
        sub.add_argument("project_id")
        sub.add_argument("--user", help="account id sent as user.id and JWT sub")
    client("state", "print every site, installation and stored entity")
    log = client("log", "print the request log")
    log.add_argument("--limit", type=int)
    log.add_argument("--since", type=int, default=0)
    reset = client("reset", "forget data and log (and extra sites and installs)")
    reset.add_argument("--data-only", action="store_true", help="keep sites and installations")
    faults = client("faults", "show or change the faults of a running simulator")
    faults.add_argument("--clear", action="store_true", help="back to no faults")
    _fault_flags(faults, defaults=False)
    site = client("create-site", "add a site served under /site/NAME")
    site.add_argument("name")
    site.add_argument(
        "--project",
        action="append",
        default=[],
        metavar="KEY=ID",
        help="a project the site knows (repeatable; default: every key is known)",
    )
    client("rotate-install-key", "sign future lifecycle calls with a new key pair")
    return parser


def _serve(args: argparse.Namespace) -> int:
    from jirasim.outbound import LOOPBACK_HOSTS
    from jirasim.server import make_server
    from jirasim.simulator import Simulator

    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO, format="%(message)s")
    simulator = Simulator(
        public_url=args.public_url,
        faults=Faults(**_faults_from(args)),
        allowed_app_hosts=LOOPBACK_HOSTS + tuple(args.allow_app_host),
    )
    server = make_server(simulator, args.host, args.port)
    for name in args.site:
        simulator.create_site(name)
    default = simulator.site()
    print(
        f"jirasim serving {simulator.url}  (page: {simulator.url}/, control API: /_sim/)\n"
        f"  default site baseUrl {simulator.url}  clientKey {default.client_key}\n"
        f"  portal settings: CONNECT_INSTALL_KEYS_URL={simulator.install_keys_url}\n"
        f"                   CONNECT_ALLOWED_SITE_HOSTS={args.host}\n"
        f"  install the portal: python -m jirasim install <portal>/atlassian-connect.json",
        flush=True,
    )
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


def _call(args: argparse.Namespace, method: str, path: str, body: dict | None = None) -> int:
    url = args.server.rstrip("/") + path
    try:
        response = requests.request(method, url, json=body, timeout=60)
    except requests.RequestException as error:
        print(f"cannot reach jirasim at {args.server}: {error}", file=sys.stderr)
        return 2
    try:
        print(json.dumps(response.json(), indent=2))
    except ValueError:
        print(response.text)
    return 0 if response.ok else 1


def _targets(args: argparse.Namespace) -> dict:
    body = {"site": args.site}
    if args.app:
        body["appKey"] = args.app
    return body


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    command = args.command
    if command == "serve":
        return _serve(args)
    if command == "install":
        return _call(
            args, "POST", "/_sim/install", {"descriptorUrl": args.descriptor_url, "site": args.site}
        )
    if command == "uninstall":
        return _call(args, "POST", "/_sim/uninstall", _targets(args))
    if command == "fetch-workspaces":
        return _call(
            args, "POST", "/_sim/actions/fetch-workspaces", {**_targets(args), "ids": args.ids}
        )
    if command == "search-containers":
        return _call(
            args,
            "POST",
            "/_sim/actions/search-containers",
            {**_targets(args), "query": args.query, "workspaceId": args.workspace_id},
        )
    if command in ("associate", "disassociate"):
        body = {**_targets(args), "containerId": args.container_id, "projectId": args.project_id}
        if args.user:
            body["userId"] = args.user
        return _call(args, "POST", f"/_sim/actions/{command}", body)
    if command == "state":
        return _call(args, "GET", "/_sim/state")
    if command == "log":
        query = f"?since={args.since}" + (f"&limit={args.limit}" if args.limit else "")
        return _call(args, "GET", "/_sim/log" + query)
    if command == "reset":
        return _call(args, "POST", "/_sim/reset", {"data_only": args.data_only})
    if command == "faults":
        if args.clear:
            return _call(args, "DELETE", "/_sim/faults")
        changes = _faults_from(args)
        return (
            _call(args, "POST", "/_sim/faults", changes)
            if changes
            else _call(args, "GET", "/_sim/faults")
        )
    if command == "create-site":
        projects = dict(item.split("=", 1) for item in args.project) or None
        return _call(args, "POST", "/_sim/sites", {"name": args.name, "projects": projects})
    if command == "rotate-install-key":
        return _call(args, "POST", "/_sim/install-keys/rotate")
    raise AssertionError(command)
