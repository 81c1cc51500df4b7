"""Jira's limits for incidents and reviews, defined once, and the validators that enforce them.

Every number here comes from the Incident and Review schemas of Atlassian's Jira Software Cloud
OpenAPI document (https://dac-static.atlassian.com/cloud/jira/software/swagger.v3.json; jirasim
ships the Operations part in `jirasim/spec/`) unless marked as our own rule.
Messages say what is wrong, with which value, and what is allowed, because ops staff read them.
"""

import re

from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator, URLValidator
from django.utils.deconstruct import deconstructible

# Incident.id / Review.id: maxLength 255; also the {incidentId}/{reviewId} path params.
ENTITY_ID_MAX_LENGTH = 255
# Incident.summary / Review.summary: maxLength 255.
SUMMARY_MAX_LENGTH = 255
# Incident.description / Review.description: Markdown, maxLength 5000.
DESCRIPTION_MAX_LENGTH = 5000
# Incident.url / Review.url: format uri, maxLength 2000.
URL_MAX_LENGTH = 2000
# Incident.affectedComponents: minItems 1, maxItems 100.
AFFECTED_COMPONENTS_MIN = 1
AFFECTED_COMPONENTS_MAX = 100
# Review.reviews (the incidents a review covers): minItems 1, maxItems 100.
REVIEWED_INCIDENTS_MIN = 1
REVIEWED_INCIDENTS_MAX = 100
# Our own rule: the spec caps the associations array at 100 items but leaves `values`
# unbounded; we cap the values of one incident or review at the same 100 so one edit
# cannot grow a payload without limit.
ASSOCIATION_VALUES_MAX = 100
# Our own rule: an association value is an issue key, an issue id or a service id.
ASSOCIATION_VALUE_MAX_LENGTH = 255

# Container ids, as searchContainers requires (Atlassian's operations-information-actions page).
CONTAINER_ID_PATTERN = r"[a-zA-Z0-9\-_.~@:{}=]+(/[a-zA-Z0-9\-_.~@:{}=]+)*"
# Workspace, incident and review ids travel in Jira URL paths and comma-joined query
# strings (`/incidents/{id}`, `?workspaceIds=a,b`), and the JWT qsh hashes the path as
# sent: keep them to RFC 3986 unreserved characters, never percent-encoded by anyone
# (percent-encoded paths break qsh, see docs/connect.md). Starting with a letter or digit
# rules out the dot segments "." and "..", which would rewrite the Jira URL.
SAFE_ID_PATTERN = r"[A-Za-z0-9][A-Za-z0-9._~-]*"
# Jira issue keys (PROJECT-123, project keys start with a capital letter) or numeric ids.
ISSUE_ID_OR_KEY_PATTERN = r"[A-Z][A-Z0-9_]+-[1-9][0-9]*|[1-9][0-9]*"
# Service ids or keys (Jira Service Management ids, ARIs): no spaces or commas.
SERVICE_ID_OR_KEY_PATTERN = r"[A-Za-z0-9\-_.~@:{}=/]+"


def _fullmatch(pattern: str) -> re.Pattern[str]:
    return re.compile(rf"\A(?:{pattern})\Z")


validate_safe_id = RegexValidator(
    _fullmatch(SAFE_ID_PATTERN),
    message=(
        "Use only letters, digits and - _ . ~, starting with a letter or digit "
        "(this id goes into Jira URLs): %(value)r is not allowed."
    ),
    code="invalid_id",
)

validate_incident_prefix = RegexValidator(
    _fullmatch(r"[A-Za-z0-9][A-Za-z0-9._~]{0,15}"),
    message=(
        "Use 1 to 16 letters, digits and . _ ~, starting with a letter or digit (ids become "
        "<prefix>-<n>): %(value)r is not allowed."
    ),
    code="invalid_prefix",
)

validate_container_id = RegexValidator(
    _fullmatch(CONTAINER_ID_PATTERN),
    message=(
        "Use letters, digits and - _ . ~ @ : { } =, with single slashes between parts "
        "and none at either end (Jira's container id pattern): %(value)r is not allowed."
    ),
    code="invalid_id",
)

validate_issue_id_or_key = RegexValidator(
    _fullmatch(ISSUE_ID_OR_KEY_PATTERN),
    message="Enter a Jira issue key such as OPS-123, or a numeric issue id: %(value)r is neither.",
    code="invalid_issue_key",
)

validate_service_id_or_key = RegexValidator(
    _fullmatch(SERVICE_ID_OR_KEY_PATTERN),
    message=(
        "A service id or key has no spaces or commas (letters, digits and - _ . ~ @ : { } = /): "
        "%(value)r is not allowed."
    ),
    code="invalid_service_id",
)


# RFC 3986: the characters a URI may hold unencoded. Jira's url fields are "format: uri",
# while Django's URLValidator also lets through spaces' cousins like { } | and non-ASCII.
URI_CHARACTERS = frozenset(
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~:/?#[]@!$&'()*+,;=%"
)


@deconstructible
class WebURLValidator(URLValidator):
    """An http(s) URL that is also a plain RFC 3986 URI, as Jira's `format: uri` expects."""

    def __init__(self) -> None:
        super().__init__(
            schemes=["http", "https"],
            message="Enter a full web address starting with https:// or http://.",
        )

    def __call__(self, value: str) -> None:
        super().__call__(value)
        bad = sorted({char for char in value if char not in URI_CHARACTERS})
        if bad:
            raise ValidationError(
                "Jira needs a plain URI: percent-encode or remove %(chars)s.",
                code="invalid_uri",
                params={"chars": " ".join(repr(char) for char in bad)},
            )


def validate_count(count: int, *, minimum: int, maximum: int, field: str, noun: str) -> None:
    """Refuse a related-object count outside Jira's [minimum, maximum], as an error on `field`.

    `noun` is singular ("affected container"); the message says the range and the count.
    """
    selected = "none is" if count == 0 else ("1 is" if count == 1 else f"{count} are")
    if count < minimum:
        message = (
            f"Select at least {minimum} {noun}{'' if minimum == 1 else 's'}: "
            f"Jira needs {minimum} to {maximum}, and {selected} selected."
        )
        raise ValidationError({field: ValidationError(message, code="too_few")})
    if count > maximum:
        message = (
            f"Select at most {maximum} {noun}s: Jira accepts {minimum} to {maximum}, "
            f"and {selected} selected."
        )
        raise ValidationError({field: ValidationError(message, code="too_many")})
