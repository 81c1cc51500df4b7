"""Helpers for the action tests: sites with real secrets, workspaces, and signed Jira calls."""

from __future__ import annotations

import itertools
import json
import time
from typing import Any
from urllib.parse import quote, urlencode

import jwt as pyjwt
from django.db import connection
from django.test import Client
from django.urls import reverse

from connect.jwt import query_string_hash
from connect.models import Installation
from incidents.models import Container, Workspace
from tests.incidents.factories import make_installation

_numbers = itertools.count(1)

FETCH = "operations-fetch-workspaces"
SEARCH = "operations-search-containers"
ASSOCIATED = "operations-entity-associated"
DISASSOCIATED = "operations-entity-disassociated"


def make_site(name: str | None = None, **fields) -> Installation:
    """An installed, enabled Jira site named `name`, its secret stored encrypted."""
    name = name or f"site-{next(_numbers)}"
    values = {"base_url": f"https://{name}.atlassian.net", "cloud_id": f"cloud-{name}"}
    values.update(fields)
    return make_installation(
        f"client-{name}", secret=f"secret-of-{name}-0123456789abcdef0123456789", **values
    )


def make_workspace(external_id: str, *, sites=(), **fields) -> Workspace:
    values = {"name": f"Workspace {external_id}", "url": f"https://ops.example.com/w/{external_id}"}
    values.update(fields)
    workspace = Workspace.objects.create(external_id=external_id, **values)
    for site in sites:
        workspace.link_site(site)
    return workspace


#: Migration 0005's trigram indexes and migration 0021's index of the folded name and id.
TRIGRAM_INDEXES = {"incidents_container_name_trgm", "incidents_container_id_trgm"}
FOLD_INDEX = "incidents_container_fold_trgm"


def settle_search_statistics() -> None:
    """Fresh statistics for the container table (and, on PostgreSQL, merged GIN pending
    lists): what autovacuum does in production, and what the search's plans rely on."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            for name in sorted(TRIGRAM_INDEXES | {FOLD_INDEX}):
                cursor.execute("SELECT gin_clean_pending_list(%s::regclass)", [name])
        cursor.execute(f"ANALYZE {Container._meta.db_table}")


def fill(workspace: Workspace, count: int, id_prefix: str = "svc") -> None:
    """`count` containers named like "payments-db-eu 00042", then `settle_search_statistics()`."""
    first = ["payments", "orders", "search", "auth", "billing", "catalog", "checkout", "stock"]
    Container.objects.bulk_create(
        Container(
            workspace=workspace,
            external_id=f"{id_prefix}-{n:05d}",
            name=f"{first[n % 8]}-{['api', 'db', 'cache'][n // 8 % 3]}-eu {n:05d}",
            url=f"https://ops.example.com/c/{n}",
        )
        for n in range(count)
    )
    settle_search_statistics()


def make_container(workspace: Workspace, external_id: str, name: str | None = None, **fields):
    values = {"name": name or external_id, "url": f"https://ops.example.com/c/{external_id}"}
    values.update(fields)
    return Container.objects.create(workspace=workspace, external_id=external_id, **values)


def token_for(
    site: Installation,
    method: str,
    path: str,
    query: str = "",
    *,
    sub: str | None = None,
    secret: str | None = None,
    **claims,
) -> str:
    """A Connect JWT as Jira signs an action call: HS256 with the site's shared secret,
    `iss` = clientKey, `qsh` over exactly this method, path and query."""
    now = int(time.time())
    payload = {
        "iss": site.client_key,
        "iat": now,
        "exp": now + 180,
        "qsh": query_string_hash(method, path, query),
    }
    if sub is not None:
        payload["sub"] = sub
    payload.update(claims)
    return pyjwt.encode(payload, secret or site.shared_secret, algorithm="HS256")


def encode_query(params) -> str:
    """Encode like Jira (spaces as %20); `params` is a dict or a list of pairs."""
    return urlencode(params, quote_via=quote) if params else ""


def call(
    client: Client,
    site: Installation | None,
    method: str,
    url_name: str,
    *,
    params=None,
    query: str | None = None,
    body=None,
    raw_body: bytes | str | None = None,
    sub: str | None = None,
    token: str | None = None,
):
    """Send a JWT-signed action call through the test client; `site=None` sends no token."""
    path = reverse(url_name)
    query = encode_query(params) if query is None else query
    headers: dict[str, Any] = {}
    if token is None and site is not None:
        token = token_for(site, method, path, query, sub=sub)
    if token is not None:
        headers["HTTP_AUTHORIZATION"] = f"JWT {token}"
    data = raw_body if raw_body is not None else (json.dumps(body) if body is not None else "")
    return client.generic(
        method,
        f"{path}?{query}" if query else path,
        data=data,
        content_type="application/json",
        **headers,
    )
