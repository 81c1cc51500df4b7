"""The one way the portal calls Jira: the Operations REST API of one installed site.

Every attempt is signed afresh (HS256 with the site's secret, `iss` = the app key, `qsh` over the
exact method, path and query of the prepared request, so a long `Retry-After` cannot outlive the
token). 429, 5xx, connection errors and timeouts are retried with capped exponential backoff and
jitter, never sooner than `Retry-After` / `X-RateLimit-Reset`
(https://developer.atlassian.com/cloud/jira/platform/rate-limiting/); 400/401/403/404/413 are
not. Redirects are never followed, so the token never leaves the site, and every request goes
to the site URL as `connect.site_urls` read it, nowhere else. Endpoints and limits:
https://developer.atlassian.com/cloud/jira/software/rest/api-group-operations/.
"""

from __future__ import annotations

import json as jsonlib
import logging
import random
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from importlib import metadata
from typing import Any
from urllib.parse import quote, urlsplit

import requests
from django.conf import settings

from . import site_urls
from .encryption import SecretDecryptionError
from .errors import InvalidField
from .jwt import encode_outgoing_token, relative_path
from .models import Installation

logger = logging.getLogger(__name__)

API = "/rest/operations/1.0"
#: SubmitIncidentsRequest: `incidents` and `reviews` each have maxItems 1000.
MAX_ENTITIES_PER_REQUEST = 1000
#: SubmitOperationsWorkspacesRequest.workspaceIds: maxItems 100.
MAX_WORKSPACE_IDS_PER_REQUEST = 100
#: SubmitIncidentsRequest.properties: maxProperties 5, values maxLength 255.
MAX_PROPERTIES = 5
MAX_PROPERTY_VALUE_LENGTH = 255
#: Incident/Review ids (and the incidentId/reviewId path parameters): maxLength 255.
MAX_ID_LENGTH = 255
#: The random factor applied to each backoff delay (Atlassian: "between 0.7 and 1.3").
JITTER = (0.7, 1.3)
_RETRYABLE_EXCEPTIONS = (
    requests.ConnectionError,
    requests.Timeout,
    requests.exceptions.ChunkedEncodingError,
)


class JiraError(Exception):
    """Jira refused a call; `messages` are the texts of its ErrorMessages body."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        messages: Sequence[str] = (),
        operation: str = "",
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.messages = list(messages)
        self.operation = operation
        self.retry_after = retry_after


class JiraBadRequest(JiraError):
    """400: the request is malformed; fix the data, do not retry."""


class JiraAuthError(JiraError):
    """401/403: wrong secret, missing scope or module, or the site is not active."""


class JiraNotFound(JiraError):
    """404: no such workspace, incident or review."""


class JiraPayloadTooLarge(JiraError):
    """413: split the batch and send the halves."""


class JiraUnavailable(JiraError):
    """Retries exhausted (429/5xx/network); `retry_after` says when to try again, if known."""


_ERRORS_BY_STATUS: dict[int, type[JiraError]] = {
    400: JiraBadRequest,
    401: JiraAuthError,
    403: JiraAuthError,
    404: JiraNotFound,
    413: JiraPayloadTooLarge,
}


def _user_agent() -> str:
    try:
        version = metadata.version("jira-ops-portal")
    except metadata.PackageNotFoundError:
        version = "0"
    return f"{settings.CONNECT_APP_KEY}/{version} python-requests/{requests.__version__}"


#: The answer type a `SendWrapper` sees.
Response = requests.Response
#: Runs around each attempt's send, given the signed request and the call that sends it: the
#: sync uses it to hold a site's turn, honour its pause and record one before anyone waits.
SendWrapper = Callable[[requests.PreparedRequest, Callable[[], requests.Response]], Response]


class JiraClient:
    """The Operations REST API of one installation: one method per endpoint."""

    def __init__(
        self,
        installation: Installation,
        *,
        session: requests.Session | None = None,
        send_wrapper: SendWrapper | None = None,
        timeout: float | tuple[float, float] = (5, 30),
        max_attempts: int = 5,
        backoff_base: float = 1.0,
        backoff_cap: float = 60.0,
        max_retry_wait: float = 300,
        sleep: Callable[[float], None] = time.sleep,
        rng: random.Random | None = None,
    ) -> None:
        if max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        self.installation = installation
        try:
            site = site_urls.parse(installation.base_url)
        except InvalidField as exc:
            raise JiraBadRequest(f"the stored site URL cannot be called: {exc.reason}") from exc
        self.base_url = site.url
        self.base_path = site.path
        self.site = site.host if site.port is None else f"{site.host}:{site.port}"
        self.session = session or requests.Session()
        self.send_wrapper = send_wrapper
        self.timeout = timeout
        self.max_attempts = max_attempts
        self.backoff_base = backoff_base
        self.backoff_cap = backoff_cap
        self.max_retry_wait = max_retry_wait
        self.sleep = sleep
        self.rng = rng or random.Random()
        self.user_agent = _user_agent()

    # --- Workspaces --------------------------------------------------------------------------

    def submit_workspaces(self, ids: Sequence[str]) -> dict[str, Any]:
        """POST linkedWorkspaces/bulk: link workspaces to the site (≤ 100 per call)."""
        ids = _checked_ids(ids, MAX_WORKSPACE_IDS_PER_REQUEST, "workspace ids")
        body = {"workspaceIds": ids}
        return self._call(
            "submit_workspaces", "POST", f"{API}/linkedWorkspaces/bulk", json=body, count=len(ids)
        )

    def delete_workspaces(self, ids: Sequence[str]) -> None:
        """DELETE linkedWorkspaces/bulk?workspaceIds=a,b: unlink workspaces and their data."""
        ids = _checked_ids(ids, MAX_WORKSPACE_IDS_PER_REQUEST, "workspace ids")
        if any("," in workspace_id for workspace_id in ids):
            raise ValueError("workspace ids sent comma-joined cannot contain ','")
        params = [("workspaceIds", ",".join(ids))]
        self._call(
            "delete_workspaces",
            "DELETE",
            f"{API}/linkedWorkspaces/bulk",
            params=params,
            count=len(ids),
        )

    def get_workspaces(self, workspace_id: str | None = None) -> dict[str, Any]:
        """GET linkedWorkspaces[?workspaceId=]: `{"workspaceIds": [...]}` (404 if not linked)."""
        params = None
        if workspace_id is not None:
            params = [("workspaceId", _checked_ids([workspace_id], 1, "workspace id")[0])]
        return self._call("get_workspaces", "GET", f"{API}/linkedWorkspaces", params=params)

    # --- Incidents and reviews ---------------------------------------------------------------

    def submit_entities(
        self,
        *,
        incidents: Sequence[Mapping[str, Any]] | None = None,
        reviews: Sequence[Mapping[str, Any]] | None = None,
        properties: Mapping[str, str] | None = None,
        provider_metadata: Mapping[str, str] | None = None,
    ) -> dict[str, Any]:
        """POST bulk: submit incidents and/or reviews (≤ 1000 of each); returns Jira's 202 body
        (`acceptedIncidents`, `failedIncidents`, `unknownProjectKeys`, …)."""
        return self.submit_encoded(
            self.encode_submission(
                incidents=incidents,
                reviews=reviews,
                properties=properties,
                provider_metadata=provider_metadata,
            )
        )

    def submit_encoded(self, body: EncodedBody) -> dict[str, Any]:
        """`submit_entities` with a body from `encode_submission`."""
        return self._call("submit_entities", "POST", f"{API}/bulk", json=body, count=body.count)

    def encode_submission(
        self,
        *,
        incidents: Sequence[Mapping[str, Any]] | None = None,
        reviews: Sequence[Mapping[str, Any]] | None = None,
        properties: Mapping[str, str] | None = None,
        provider_metadata: Mapping[str, str] | None = None,
    ) -> EncodedBody:
        """The checked, JSON-encoded body of a bulk submit, made ahead of sending it: a thread
        that only sends (the relay's) then spends none of its turn encoding 1000 entities."""
        body: dict[str, Any] = {}
        for name, entities in (("incidents", incidents), ("reviews", reviews)):
            if entities:
                if len(entities) > MAX_ENTITIES_PER_REQUEST:
                    raise ValueError(f"at most {MAX_ENTITIES_PER_REQUEST} {name} per request")
                body[name] = list(entities)
        if not body:
            raise ValueError("submit at least one incident or review")
        if properties:
            body["properties"] = dict(_checked_properties(properties))
        if provider_metadata:
            body["providerMetadata"] = dict(provider_metadata)
        count = len(body.get("incidents", ())) + len(body.get("reviews", ()))
        return EncodedBody(jsonlib.dumps(body, allow_nan=False).encode(), count)

    def delete_by_properties(self, properties: Mapping[str, str]) -> None:
        """DELETE bulkByProperties?k=v&…: delete everything carrying ALL these properties."""
        params = sorted(_checked_properties(properties))
        if not params:
            raise ValueError("give at least one property to delete by")
        self._call("delete_by_properties", "DELETE", f"{API}/bulkByProperties", params=params)

    def get_incident(self, incident_id: str) -> dict[str, Any]:
        """GET incidents/{id}: what Jira stores (pending updates ignored)."""
        return self._call("get_incident", "GET", f"{API}/incidents/{_path_id(incident_id)}")

    def delete_incident(self, incident_id: str) -> None:
        """DELETE incidents/{id} (asynchronous on Jira's side)."""
        self._call("delete_incident", "DELETE", f"{API}/incidents/{_path_id(incident_id)}", count=1)

    def get_review(self, review_id: str) -> dict[str, Any]:
        """GET post-incident-reviews/{id}."""
        return self._call("get_review", "GET", f"{API}/post-incident-reviews/{_path_id(review_id)}")

    def delete_review(self, review_id: str) -> None:
        """DELETE post-incident-reviews/{id} (asynchronous on Jira's side)."""
        self._call(
            "delete_review", "DELETE", f"{API}/post-incident-reviews/{_path_id(review_id)}", count=1
        )

    # --- Transport ---------------------------------------------------------------------------

    def close(self) -> None:
        self.session.close()

    def __enter__(self) -> JiraClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _call(
        self,
        operation: str,
        method: str,
        path: str,
        *,
        params: Sequence[tuple[str, str]] | None = None,
        json: Any = None,
        count: int = 0,
    ) -> Any:
        """Send with retries; return the decoded JSON body ({} when empty) or raise JiraError."""
        if not self.installation.is_active:
            raise JiraAuthError(
                f"{self.site} has uninstalled or disabled the app", operation=operation
            )
        attempt = 0
        while True:
            attempt += 1
            started = time.monotonic()
            hint: float | None = None
            try:
                response = self._send(method, path, params, json)
            except _RETRYABLE_EXCEPTIONS as exc:
                status, failure = None, f"{type(exc).__name__}"
            else:
                status = response.status_code
                if 200 <= status < 300:
                    self._log(operation, status, started, count, attempt)
                    return _decode_body(response, operation)
                if status != 429 and status < 500:
                    self._log(operation, status, started, count, attempt)
                    raise _error_for(response, operation)
                hint = retry_hint(response)
                failure = f"HTTP {status}"
            self._log(operation, status, started, count, attempt, failure=failure)
            if attempt >= self.max_attempts:
                raise JiraUnavailable(
                    f"{operation} on {self.site} failed after {attempt} attempts ({failure})",
                    status=status,
                    operation=operation,
                    retry_after=hint,
                )
            wait = self.backoff(attempt, hint)
            if wait > self.max_retry_wait:
                raise JiraUnavailable(
                    f"{operation} on {self.site}: Jira asks to wait {wait:.0f} s ({failure})",
                    status=status,
                    operation=operation,
                    retry_after=wait,
                )
            self.sleep(wait)

    def backoff(self, attempt: int, hint: float | None = None) -> float:
        """Seconds to wait after failed attempt `attempt`: capped exponential with jitter,
        and never less than Jira's own hint."""
        delay = min(self.backoff_cap, self.backoff_base * 2 ** (attempt - 1))
        delay = min(self.backoff_cap, delay * self.rng.uniform(*JITTER))
        return max(delay, hint) if hint is not None else delay

    def _send(self, method: str, path: str, params: Any, json: Any) -> requests.Response:
        """Prepare, sign over the prepared wire path and query, and send one attempt."""
        headers = {"Accept": "application/json", "User-Agent": self.user_agent}
        data = None
        if isinstance(json, EncodedBody):
            data, json = json.data, None
            headers["Content-Type"] = "application/json"
        request = requests.Request(
            method, self.base_url + path, params=params, data=data, json=json, headers=headers
        )
        prepared = self.session.prepare_request(request)
        if not (prepared.url or "").startswith(self.base_url + "/"):
            raise JiraBadRequest(f"refusing to send a request outside {self.site}")
        wire = urlsplit(prepared.path_url)
        token = encode_outgoing_token(
            method=prepared.method or method,
            path=relative_path(wire.path, self.base_path),
            query=wire.query,
            secret=self._secret(),
        )
        prepared.headers["Authorization"] = f"JWT {token}"

        def send() -> requests.Response:
            return self.session.send(prepared, timeout=self.timeout, allow_redirects=False)

        return self.send_wrapper(prepared, send) if self.send_wrapper else send()

    def _secret(self) -> str:
        try:
            return self.installation.shared_secret
        except SecretDecryptionError as exc:
            raise JiraAuthError(f"the shared secret of {self.site} cannot be decrypted") from exc

    def _log(
        self,
        operation: str,
        status: int | None,
        started: float,
        count: int,
        attempt: int,
        *,
        failure: str = "",
    ) -> None:
        """One line per attempt; the fields also go as `extra=` keys for JSON logs. Never the
        token, the secret or a query string."""
        duration_ms = round((time.monotonic() - started) * 1000)
        logger.log(
            logging.WARNING if failure else logging.INFO,
            "Jira %s site=%s status=%s duration_ms=%d entities=%d attempt=%d%s",
            operation,
            self.base_url,
            status if status is not None else "-",
            duration_ms,
            count,
            attempt,
            f" failure={failure}" if failure else "",
            extra={
                "site": self.base_url,
                "client_key": self.installation.client_key,
                "operation": operation,
                "status": status,
                "duration_ms": duration_ms,
                "entities": count,
                "attempt": attempt,
                "failure": failure or None,
            },
        )


@dataclass(frozen=True)
class EncodedBody:
    """A JSON request body encoded ahead of sending (`JiraClient.encode_submission`), and how
    many entities it carries (for the log)."""

    data: bytes
    count: int


def retry_hint(response: requests.Response, *, now: datetime | None = None) -> float | None:
    """Seconds Jira asks us to wait: `Retry-After` (seconds or HTTP date), else
    `X-RateLimit-Reset` (ISO 8601); None when neither is usable."""
    now = now or datetime.now(UTC)
    retry_after = (response.headers.get("Retry-After") or "").strip()
    if retry_after:
        try:
            return max(0.0, float(retry_after))
        except ValueError:
            pass
        try:
            when = parsedate_to_datetime(retry_after)
        except (TypeError, ValueError):
            when = None
        if when is not None:
            when = when if when.tzinfo else when.replace(tzinfo=UTC)
            return max(0.0, (when - now).total_seconds())
    reset = (response.headers.get("X-RateLimit-Reset") or "").strip()
    if reset:
        try:
            when = datetime.fromisoformat(reset)
        except ValueError:
            return None
        when = when if when.tzinfo else when.replace(tzinfo=UTC)
        return max(0.0, (when - now).total_seconds())
    return None


def error_messages(response: requests.Response) -> list[str]:
    """The texts of an ErrorMessages body (`[{"message": …}]`), leniently."""
    try:
        body = response.json()
    except ValueError:
        text = response.text.strip()
        return [text[:500]] if text else []
    items = (
        body
        if isinstance(body, list)
        else body.get("errorMessages", [])
        if isinstance(body, dict)
        else []
    )
    messages = []
    for item in items:
        if isinstance(item, dict) and isinstance(item.get("message"), str):
            messages.append(item["message"])
        elif isinstance(item, str):
            messages.append(item)
    return messages


def _error_for(response: requests.Response, operation: str) -> JiraError:
    status = response.status_code
    messages = error_messages(response)
    if 300 <= status < 400:
        text = f"{operation}: Jira answered a redirect ({status}); redirects are not followed"
    else:
        text = f"{operation}: Jira answered {status}" + (
            f": {'; '.join(messages)}" if messages else ""
        )
    cls = _ERRORS_BY_STATUS.get(status, JiraError)
    return cls(text, status=status, messages=messages, operation=operation)


def _decode_body(response: requests.Response, operation: str) -> Any:
    if not response.content:
        return {}
    try:
        return response.json()
    except ValueError as exc:
        raise JiraError(
            f"{operation}: Jira's {response.status_code} answer is not JSON",
            status=response.status_code,
            operation=operation,
        ) from exc


def _checked_ids(ids: Sequence[str], limit: int, what: str) -> list[str]:
    if isinstance(ids, str):
        raise TypeError(f"{what} must be a list of strings, not one string")
    ids = list(ids)
    if not ids or len(ids) > limit:
        raise ValueError(f"give 1-{limit} {what}")
    for value in ids:
        if not isinstance(value, str) or not value or len(value) > MAX_ID_LENGTH:
            raise ValueError(f"{what} must be non-empty strings of at most {MAX_ID_LENGTH} chars")
    return ids


def _path_id(value: str) -> str:
    """An id made safe as one path segment (`/`, `?`, `#`, `%`… percent-encoded)."""
    return quote(_checked_ids([value], 1, "id")[0], safe="")


def _checked_properties(properties: Mapping[str, str]) -> list[tuple[str, str]]:
    """Properties as Jira allows them: ≤ 5, keys without ':' or a leading '_', values ≤ 255."""
    items = list(properties.items())
    if len(items) > MAX_PROPERTIES:
        raise ValueError(f"at most {MAX_PROPERTIES} properties")
    for key, value in items:
        if not isinstance(key, str) or not key or ":" in key or key.startswith("_"):
            raise ValueError(f"property key {key!r} must be non-empty, without ':' or leading '_'")
        if not isinstance(value, str) or len(value) > MAX_PROPERTY_VALUE_LENGTH:
            raise ValueError(f"property {key!r} must be a string of at most 255 characters")
    return items
