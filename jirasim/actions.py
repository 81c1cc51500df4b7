"""The calls Jira makes to a ``jiraOperationsInfoProvider`` app's actions, and their contracts.

Wire formats are Atlassian's
(https://developer.atlassian.com/cloud/jira/software/modules/operations-information-actions/):
fetchWorkspaces is a POST of ``{"ids": [...]}``; searchContainers a GET with ``searchQuery``
(and, optionally, ``workspaceId``); onEntityAssociated / onEntityDisassociated a PUT with
``entity``, ``associatedWith`` / ``disassociatedFrom`` and ``user``. Answers are checked
against the documented shapes and every deviation is reported as a ``problem`` (the call itself
still counts as made).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from urllib.parse import quote, urlencode

FETCH_WORKSPACES = "fetchWorkspaces"
SEARCH_CONTAINERS = "searchContainers"
ON_ENTITY_ASSOCIATED = "onEntityAssociated"
ON_ENTITY_DISASSOCIATED = "onEntityDisassociated"

#: How Jira names a project in association payloads (an ATI and an ARI).
PROJECT_ATI = "ati:cloud:jira:project"
#: The container id pattern of the searchContainers response (actions page, DOC S3).
CONTAINER_ID = re.compile(r"^[a-zA-Z0-9\-_.~@:{}=]+(/[a-zA-Z0-9\-_.~@:{}=]+)*$")
#: The account id the simulator acts as when a call has a user (a made-up, well-formed id).
DEFAULT_ACCOUNT_ID = "557058:00000000-0000-4000-8000-00000000a11c"


@dataclass
class ActionResult:
    """What an app answered to one action call, and how that answer meets the contract."""

    action: str
    url: str
    status: int
    data: object = None
    text: str = ""
    problems: list[str] = field(default_factory=list)
    #: False when the app declares no such (optional) action, so nothing was sent.
    called: bool = True

    @property
    def ok(self) -> bool:
        return (not self.called or 200 <= self.status < 300) and not self.problems

    def to_public(self) -> dict:
        return {
            "action": self.action,
            "called": self.called,
            "url": self.url,
            "status": self.status,
            "ok": self.ok,
            "data": self.data,
            "problems": self.problems,
        }


def with_query(url: str, params: dict[str, str | None]) -> str:
    """Append query parameters encoded as Jira does (spaces as %20)."""
    present = {key: value for key, value in params.items() if value is not None}
    if not present:
        return url
    separator = "&" if "?" in url else "?"
    return url + separator + urlencode(present, quote_via=quote)


def project_reference(cloud_id: str, project_id: str) -> dict:
    return {
        "ati": PROJECT_ATI,
        "ari": f"ari:cloud:jira:{cloud_id}:project/{project_id}",
        "cloudId": cloud_id,
        "id": project_id,
    }


def association_body(
    *, cloud_id: str, container_id: str, project_id: str, user_id: str | None, associate: bool
) -> dict:
    """The body of onEntityAssociated (``associate``) or onEntityDisassociated."""
    body = {
        "entity": {
            "ari": f"ari:cloud:jira:{cloud_id}:operations-container/{container_id}",
            "id": container_id,
        },
        ("associatedWith" if associate else "disassociatedFrom"): project_reference(
            cloud_id, project_id
        ),
    }
    if user_id:
        body["user"] = {"id": user_id}
    return body


def _items(result: ActionResult, key: str) -> list[dict]:
    if result.status != 200:
        result.problems.append(f"{result.action} answered {result.status}, expected 200")
        return []
    if not isinstance(result.data, dict) or not isinstance(result.data.get(key), list):
        result.problems.append(f"{result.action} must answer a JSON object with a '{key}' array")
        return []
    items = [item for item in result.data[key] if isinstance(item, dict)]
    if len(items) != len(result.data[key]):
        result.problems.append(f"every item of '{key}' must be an object")
    for index, item in enumerate(items):
        for name in ("id", "name"):
            if not isinstance(item.get(name), str) or not item.get(name):
                result.problems.append(f"{key}[{index}].{name} must be a non-empty string")
        for name in ("url", "avatarUrl"):
            if name in item and not str(item[name]).startswith(("http://", "https://")):
                result.problems.append(f"{key}[{index}].{name} must be an http(s) URL")
    return items


def check_workspaces(result: ActionResult, requested: list[str]) -> list[dict]:
    """fetchWorkspaces → ``{"workspaces": [{id, name, url, avatarUrl}]}``, only requested ids."""
    items = _items(result, "workspaces")
    for item in items:
        if isinstance(item.get("id"), str) and item["id"] not in requested:
            result.problems.append(f"workspace {item['id']!r} was not asked for")
    return items


def check_containers(result: ActionResult) -> list[dict]:
    """searchContainers → ``{"containers": [{id, name, url, avatarUrl, lastUpdatedDate}]}``."""
    items = _items(result, "containers")
    for index, item in enumerate(items):
        if isinstance(item.get("id"), str) and not CONTAINER_ID.match(item["id"]):
            result.problems.append(f"containers[{index}].id does not match {CONTAINER_ID.pattern}")
    return items


def check_notification(result: ActionResult) -> None:
    """onEntityAssociated / onEntityDisassociated: any 2xx (figma-for-jira answers 200)."""
    if not 200 <= result.status < 300:
        result.problems.append(f"{result.action} answered {result.status}, expected 2xx")
