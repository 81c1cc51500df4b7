"""The one parser of a Jira site's URL: what is checked is what is stored and what is called.

Python's `urlsplit` and the HTTP client do not always agree on the host: in
`https://evil.example\\.atlassian.net` one reads `evil.example\\.atlassian.net` (which ends in
`.atlassian.net`) and `requests` connects to `evil.example`. So the URL is read here once, by a
grammar much narrower than RFC 3986 — a lower-case scheme, a host of `[a-z0-9.-]` only, an
optional port, a path of unreserved characters — and stored in the normal form this module
writes, which `connect.client` sends to unchanged.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass

from django.conf import settings

from .errors import InvalidField, SiteNotAllowed

_URL = re.compile(
    r"(?P<scheme>https?)://(?P<host>[a-z0-9.-]+)(?::(?P<port>[0-9]{1,5}))?"
    r"(?P<path>(?:/[A-Za-z0-9._~-]+)*)/?"
)
_LABEL = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?")
_DEFAULT_PORTS = {"https": 443, "http": 80}


@dataclass(frozen=True)
class SiteUrl:
    """A site URL read by `parse`: `url` is its normal form (no default port, no trailing /)."""

    scheme: str
    host: str
    port: int | None
    path: str

    @property
    def url(self) -> str:
        port = f":{self.port}" if self.port is not None else ""
        return f"{self.scheme}://{self.host}{port}{self.path}"


def parse(url: object, *, field: str = "baseUrl") -> SiteUrl:
    """Read a site URL by the narrow grammar, or raise InvalidField saying what is wrong."""
    if not isinstance(url, str):
        raise InvalidField(f"{field} must be a string")
    if not url.isascii():
        raise InvalidField(f"{field} must be ASCII (an IDN host in its xn-- form)")
    lowered = _lower_scheme_and_host(url)
    match = _URL.fullmatch(lowered)
    if match is None:
        raise InvalidField(
            f"{field} must be http(s)://host[:port][/path] with a host of letters, digits, "
            "'.' and '-' only (no credentials, backslash, query or fragment)"
        )
    host = match["host"]
    labels = host.split(".")
    if len(host) > 253 or not all(_LABEL.fullmatch(label) for label in labels):
        raise InvalidField(f"{field} has an invalid host name {host!r}")
    port = int(match["port"]) if match["port"] else None
    if port is not None and not 0 < port < 65536:
        raise InvalidField(f"{field} has an invalid port")
    if port == _DEFAULT_PORTS[match["scheme"]]:
        port = None
    path = match["path"]
    if any(segment in (".", "..") for segment in path.split("/")):
        raise InvalidField(f"{field} must not contain '.' or '..' path segments")
    return SiteUrl(scheme=match["scheme"], host=host, port=port, path=path)


def check_site_url(url: object) -> str:
    """A Jira site's `baseUrl`, allowed by CONNECT_ALLOWED_SITE_HOSTS, in its normal form.

    `*.atlassian.net` matches any subdomain; only an entry naming the host exactly allows a port,
    and plain http is accepted only with DEBUG on or for a loopback host listed exactly.
    """
    site = parse(url)
    patterns = [pattern.strip().lower() for pattern in settings.CONNECT_ALLOWED_SITE_HOSTS]
    exact = site.host in patterns
    wildcard = any(
        pattern.startswith("*.") and site.host.endswith(pattern[1:]) for pattern in patterns
    )
    if not exact and not wildcard:
        raise SiteNotAllowed(f"{site.host!r} is not a Jira site host this portal accepts")
    if site.port is not None and not exact:
        raise InvalidField("baseUrl may carry a port only for a host listed exactly")
    if site.scheme == "http" and not (settings.DEBUG or (exact and _is_loopback(site.host))):
        raise InvalidField(f"baseUrl {site.url!r} must be https")
    return site.url


def check_display_url(url: object) -> str:
    """The `displayUrl` (a custom domain may differ from the site's host), in its normal form."""
    return parse(url, field="displayUrl").url


def _lower_scheme_and_host(url: str) -> str:
    """Lower-case what precedes the path, leaving the path as sent."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        return url
    authority, slash, path = rest.partition("/")
    return f"{scheme.lower()}://{authority.lower()}{slash}{path}"


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
