"""Jira's side of the Operations REST API contract: limits, scopes and the spec's schemas.

Every number here is cited to ``jirasim/spec/jira-operations-openapi.json`` (a verbatim subset of
Atlassian's published Jira Software Cloud OpenAPI document) or to Atlassian's Operations pages
(https://developer.atlassian.com/cloud/jira/software/rest/api-group-operations/).
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

SPEC_PATH = Path(__file__).with_name("spec") / "jira-operations-openapi.json"

#: Where the Operations REST API lives under a site's baseUrl.
API_PREFIX = "/rest/operations/1.0"

#: "A maximum of 1000 incidents can be submitted in one request" (POST /bulk, 413 beyond).
MAX_ENTITIES_PER_REQUEST = 1000
#: SubmitOperationsWorkspacesRequest.workspaceIds maxItems (POST linkedWorkspaces/bulk, 413).
MAX_WORKSPACE_IDS_PER_REQUEST = 100
#: SubmitIncidentsRequest.properties: maxProperties 5, values maxLength 255, keys may not
#: contain ':' nor start with '_'.
MAX_PROPERTIES = 5
MAX_PROPERTY_VALUE_LENGTH = 255
#: incidentId / reviewId path parameters: maxLength 255.
MAX_ID_LENGTH = 255
#: updateSequenceNumber is "integer, format int64".
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
#: A body larger than this is refused with 413 before it is parsed (a simulator safety limit;
#: Jira's own byte limit is not documented).
MAX_BODY_BYTES = 16 * 1024 * 1024

#: x-atlassian-connect-scope of each HTTP method on /rest/operations/1.0.
SCOPE_BY_METHOD = {"GET": "READ", "POST": "WRITE", "DELETE": "DELETE"}
#: Connect scopes and the scopes each implies ("Scopes for Connect apps", Jira).
IMPLIED_SCOPES = {
    "READ": {"READ"},
    "WRITE": {"WRITE", "READ"},
    "DELETE": {"DELETE", "WRITE", "READ"},
    "PROJECT_ADMIN": {"PROJECT_ADMIN", "DELETE", "WRITE", "READ"},
    "ADMIN": {"ADMIN", "PROJECT_ADMIN", "DELETE", "WRITE", "READ"},
    "ACT_AS_USER": {"ACT_AS_USER"},
    "ACCESS_EMAIL_ADDRESSES": {"ACCESS_EMAIL_ADDRESSES"},
}

#: The Connect module that grants access to the Operations API (403 without it).
MODULE_KEY = "jiraOperationsInfoProvider"


def granted_scopes(declared: list[str]) -> set[str]:
    """Expand a descriptor's ``scopes`` (any case) into every scope they grant."""
    granted: set[str] = set()
    for scope in declared:
        granted |= IMPLIED_SCOPES.get(str(scope).upper(), set())
    return granted


@lru_cache(maxsize=1)
def spec() -> dict:
    return json.loads(SPEC_PATH.read_text(encoding="utf-8"))


def schema(name: str) -> dict:
    """One of the spec's ``components.schemas`` (Incident, Review, SubmitIncidentsRequest, ...)."""
    return spec()["components"]["schemas"][name]
