"""The descriptor actions the incidents app adds (through settings.CONNECT_EXTRA_ACTIONS_HOOK).

Only the legacy `createPostIncidentReview` (jira-operations-api.md §3.1, older REST narrative):
a `url`, not a `templateUrl`, with Jira's `{incident-id}` and `{component-id}` placeholders.
The current module schema does not list it and descriptor validation may refuse unknown
actions, so it is advertised only when CONNECT_ADVERTISE_CREATE_REVIEW is on.
"""

from django.conf import settings
from django.urls import reverse

from connect.descriptor import absolute_url
from incidents.review_page import COMPONENT_PARAM, INCIDENT_PARAM

CREATE_REVIEW_ACTION = "createPostIncidentReview"


def create_review_url() -> str:
    """The page's absolute URL with Jira's placeholders left for Jira to fill in."""
    page = absolute_url(reverse("incidents-create-review"))
    return f"{page}?{INCIDENT_PARAM}={{incident-id}}&{COMPONENT_PARAM}={{component-id}}"


def extra_actions() -> dict[str, dict[str, str]]:
    if not getattr(settings, "CONNECT_ADVERTISE_CREATE_REVIEW", False):
        return {}
    return {CREATE_REVIEW_ACTION: {"url": create_review_url()}}
