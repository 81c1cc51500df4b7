"""The descriptor actions the incidents app answers, registered with `connect.descriptor` in
`IncidentsConfig.ready()`.

The four actions of the `jiraOperationsInfoProvider` module (`templateUrl`s), and the legacy
`createPostIncidentReview` (a `url`, not a `templateUrl`, with Jira's `{incident-id}` and
`{component-id}` placeholders). The current module schema does not list the latter and
descriptor validation may refuse unknown actions, so it is advertised only when
CONNECT_ADVERTISE_CREATE_REVIEW is on (docs/actions.md).
"""

from typing import Any

from django.conf import settings
from django.urls import reverse

from connect import descriptor
from incidents.provider.review_page import COMPONENT_PARAM, INCIDENT_PARAM

#: Descriptor action → URL name in `incidents.provider.urls`.
ACTION_URL_NAMES = {
    "fetchWorkspaces": "operations-fetch-workspaces",
    "searchContainers": "operations-search-containers",
    "onEntityAssociated": "operations-entity-associated",
    "onEntityDisassociated": "operations-entity-disassociated",
}
CREATE_REVIEW_ACTION = "createPostIncidentReview"


def create_review_url() -> str:
    """The page's absolute URL with Jira's placeholders left for Jira to fill in."""
    page = descriptor.absolute_url(reverse("incidents-create-review"))
    return f"{page}?{INCIDENT_PARAM}={{incident-id}}&{COMPONENT_PARAM}={{component-id}}"


def operations_actions() -> dict[str, Any]:
    actions: dict[str, Any] = {
        action: {"templateUrl": descriptor.absolute_url(reverse(name))}
        for action, name in ACTION_URL_NAMES.items()
    }
    if getattr(settings, "CONNECT_ADVERTISE_CREATE_REVIEW", False):
        actions[CREATE_REVIEW_ACTION] = {"url": create_review_url()}
    return actions


def register_actions() -> None:
    descriptor.register_actions(operations_actions)
