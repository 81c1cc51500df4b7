"""The CONNECT_BASE_URL of a portal served locally by `make run`: the address it serves.

`/atlassian-connect.json` tells Jira (or jirasim) where to call the portal: its `baseUrl` is
CONNECT_BASE_URL, and signed installs must name it as their audience. `make run PORT=8012` must
therefore say port 8012 there, not the settings' default, or every call goes to the wrong place.
A CONNECT_BASE_URL set in the environment or in `.env` is kept as it is: it is the public
address, for example an https tunnel in front of the local server.

Run as `python -m portal.local_url HOST PORT`; it prints the URL for the Makefile to export.
"""

from __future__ import annotations

import ipaddress
import os
import sys
from collections.abc import Mapping
from pathlib import Path

import environ

ENV_FILE = Path(__file__).resolve().parent.parent / ".env"
#: Hosts that mean "every interface": a browser (and jirasim) reaches them on loopback.
ANY_ADDRESS = {"0.0.0.0": "127.0.0.1", "::": "::1"}  # noqa: S104 (mapped away, not bound)


def explicit_base_url(environment: Mapping[str, str], env_file: Path = ENV_FILE) -> str:
    """CONNECT_BASE_URL as the settings would read it from the environment, then from `.env`
    (the environment wins, as in portal/settings.py); empty when neither sets it."""
    if environment.get("CONNECT_BASE_URL", "").strip():
        return environment["CONNECT_BASE_URL"].strip()
    if not env_file.is_file():
        return ""

    class DotEnv(environ.Env):
        ENVIRON: dict[str, str] = {}

    DotEnv.read_env(env_file)
    return DotEnv.ENVIRON.get("CONNECT_BASE_URL", "").strip()


def served_url(host: str, port: int) -> str:
    """`http://host:port` as a client reaches a server bound to `host`."""
    host = ANY_ADDRESS.get(host, host)
    try:
        if ipaddress.ip_address(host).version == 6:
            host = f"[{host}]"
    except ValueError:
        pass
    return f"http://{host}:{port}"


def local_base_url(
    host: str, port: int, environment: Mapping[str, str] | None = None, env_file: Path = ENV_FILE
) -> str:
    """The CONNECT_BASE_URL for a local server on host:port: the explicit one, else its own."""
    explicit = explicit_base_url(os.environ if environment is None else environment, env_file)
    return explicit.rstrip("/") if explicit else served_url(host, port)


def main(argv: list[str]) -> int:
    try:
        host, port_text = argv
        port = int(port_text)
        if not 1 <= port <= 65535:
            raise ValueError
    except ValueError:
        print("usage: python -m portal.local_url HOST PORT (PORT 1-65535)", file=sys.stderr)
        return 2
    print(local_base_url(host, port))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
