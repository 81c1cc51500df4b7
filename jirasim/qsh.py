"""The Connect query-string hash (qsh), written from the "Understanding JWT" rules.

Jira binds every Connect JWT to one request: ``qsh = hex(sha256(canonical request))``.
The canonical request is ``METHOD&canonical-path&canonical-query``
(https://developer.atlassian.com/cloud/jira/platform/understanding-jwt-for-connect-apps/).
This module is deliberately independent of the portal's code and of ``atlassian-jwt``: it is the
yardstick the portal's own canonicalisation is measured against.
"""

from __future__ import annotations

import hashlib
from urllib.parse import quote, unquote_plus, urlsplit

#: The query parameter that carries a token and is never part of the hash (the canonical
#: request's rules, https://developer.atlassian.com/cloud/jira/platform/understanding-jwt-for-connect-apps/).
JWT_PARAM = "jwt"


def _encode(text: str) -> str:
    """Percent-encode everything but RFC 3986 unreserved characters (space → %20, * → %2A)."""
    return quote(text, safe="")


def canonical_path(path: str) -> str:
    """Canonicalise a request path already made relative to the base URL path.

    Empty becomes ``/``; one trailing ``/`` is removed unless it is the only character (as
    Jira's Java canonicaliser does); ``&`` is encoded as ``%26``. The path stays as it was on the
    wire: percent-escapes are not decoded.
    """
    if path.endswith("/"):
        path = path[:-1]
    if not path.startswith("/"):
        path = "/" + path
    return path.replace("&", "%26")


def canonical_query(query: str) -> str:
    """Canonicalise a raw query string: decode, drop ``jwt``, re-encode, sort, join repeats."""
    values: dict[str, list[str]] = {}
    for pair in query.split("&"):
        if not pair:
            continue
        name, _, value = pair.partition("=")
        name = unquote_plus(name)
        if name == JWT_PARAM:
            continue
        values.setdefault(_encode(name), []).append(_encode(unquote_plus(value)))
    return "&".join(
        f"{name}={','.join(sorted(encoded))}" for name, encoded in sorted(values.items())
    )


def canonical_request(method: str, path: str, query: str = "") -> str:
    """Return ``METHOD&path&query`` for a path relative to the base URL and a raw query."""
    return f"{method.upper()}&{canonical_path(path)}&{canonical_query(query)}"


def query_string_hash(method: str, path: str, query: str = "") -> str:
    """Return the qsh claim for a request (path relative to the base URL, raw query string)."""
    return hashlib.sha256(canonical_request(method, path, query).encode("utf-8")).hexdigest()


def relative_path(path: str, base_path: str) -> str:
    """Strip a base URL's path (``/wiki``, ``/site/b``) from a request path, as the canonical
    request's rules ask."""
    base_path = base_path.rstrip("/")
    if base_path and (path == base_path or path.startswith(base_path + "/")):
        return path[len(base_path) :] or "/"
    return path


def url_hash(method: str, url: str, base_url: str = "") -> str:
    """Return the qsh for an absolute or relative URL, relative to ``base_url``'s path."""
    parts = urlsplit(url)
    return query_string_hash(
        method, relative_path(parts.path, urlsplit(base_url).path), parts.query
    )
