"""HTTP calls the simulated Jira makes to an app: descriptor fetch, lifecycle, actions.

Only hosts in the simulator's allow-list are called (loopback by default), so a descriptor can
never make the simulator send traffic elsewhere.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import requests

#: Seconds to wait for an app; Jira's own timeouts are of the same order.
TIMEOUT_SECONDS = 10
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")
USER_AGENT = "jirasim (Atlassian Connect host simulator)"


class OutboundRefused(Exception):
    """The simulator will not (or could not) call this URL; the message says why."""


@dataclass
class Reply:
    """An app's answer: status, parsed JSON (or None) and a short text excerpt."""

    status: int
    data: object = None
    text: str = ""
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300


def check_host(url: str, allowed_hosts: tuple[str, ...]) -> None:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise OutboundRefused(f"{url!r} is not an http(s) URL")
    if "*" not in allowed_hosts and parts.hostname not in allowed_hosts:
        raise OutboundRefused(
            f"host {parts.hostname!r} is not in the simulator's allowed app hosts "
            f"{', '.join(allowed_hosts)} (serve --allow-app-host adds one)"
        )


def send(
    method: str,
    url: str,
    *,
    allowed_hosts: tuple[str, ...],
    token: str | None = None,
    body: object = None,
) -> Reply:
    """Make one request; connection failures become OutboundRefused with a readable reason."""
    check_host(url, allowed_hosts)
    headers = {"User-Agent": USER_AGENT, "Accept": "application/json"}
    if token is not None:
        headers["Authorization"] = f"JWT {token}"
    try:
        response = requests.request(
            method,
            url,
            json=body,
            headers=headers,
            timeout=TIMEOUT_SECONDS,
            allow_redirects=False,
        )
    except requests.RequestException as error:
        raise OutboundRefused(f"{method} {url} failed: {error.__class__.__name__}") from None
    try:
        data = response.json() if response.content else None
    except (ValueError, json.JSONDecodeError):
        data = None
    return Reply(response.status_code, data, response.text[:500], dict(response.headers))


def fetch_descriptor(url: str, allowed_hosts: tuple[str, ...]) -> dict:
    """GET an app descriptor; it must be a 200 with a JSON object."""
    reply = send("GET", url, allowed_hosts=allowed_hosts)
    if reply.status != 200:
        raise OutboundRefused(f"the descriptor at {url} answered {reply.status}, not 200")
    if not isinstance(reply.data, dict):
        raise OutboundRefused(f"the descriptor at {url} is not a JSON object")
    return reply.data
