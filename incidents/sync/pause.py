"""A Jira site's pause, shared by every worker through the database.

Jira asks a client to slow down with a 429 (or a 5xx) carrying `Retry-After` or
`X-RateLimit-Reset` (https://developer.atlassian.com/cloud/jira/platform/rate-limiting/), and
counts every request sent before that time against the app. So the pause belongs to the site,
not to the worker that heard it: the worker writes it to `SiteSyncStatus.paused_until` as soon as
the answer arrives, before anyone sleeps, and every worker reads it before each request to that
site (`SitePause`, run around each send by `JiraClient`). A paused site gets no request from
any worker until the pause ends.

On PostgreSQL each request to a site also takes that site's turn (`site_turn`, an advisory
lock): one request per site is in flight at a time, so none can already be on its way when
another worker hears "wait". Workers still run in parallel across sites and between requests.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from connect.client import Response, retry_hint
from incidents.models.outbox import SiteSyncStatus

logger = logging.getLogger(__name__)


class SitePaused(Exception):
    """The site is paused until `until`: nothing is sent to it before then."""

    def __init__(self, installation_id: int, until: datetime, reason: str = "") -> None:
        super().__init__(
            f"Jira site paused until {until.isoformat(timespec='seconds')}"
            + (f" ({reason})" if reason else "")
        )
        self.installation_id = installation_id
        self.until = until
        self.reason = reason


def paused_until(installation_id: int, now: datetime | None = None) -> datetime | None:
    """When the site's pause ends, if it is paused now (one primary-key read)."""
    now = now or timezone.now()
    return (
        SiteSyncStatus.objects.filter(installation_id=installation_id, paused_until__gt=now)
        .values_list("paused_until", flat=True)
        .first()
    )


def pause_site(installation_id: int, seconds: float, reason: str) -> datetime:
    """Pause the site for `seconds` from now (never shortening a longer pause) and commit it
    at once, so other workers see it before this one waits. Returns when the pause ends.

    Call it outside any transaction (the relay sends outside them): inside one, other workers
    would see the pause only when it commits."""
    now = timezone.now()
    until = now + timedelta(seconds=seconds)
    with transaction.atomic():
        status, _ = SiteSyncStatus.objects.select_for_update().get_or_create(
            installation_id=installation_id
        )
        if status.paused_until is None or status.paused_until < until:
            status.paused_until = until
        status.last_error = reason[:2000]
        status.last_error_at = now
        status.save(update_fields=["paused_until", "last_error", "last_error_at"])
    return status.paused_until


#: The first key of the advisory locks taking a site's turn (the second is the installation's pk).
SITE_TURN_LOCK = 0x6A697261  # "jira"


@contextmanager
def site_turn(installation_id: int) -> Iterator[None]:
    """Hold the site's turn to send: waits while another worker's request to it is in flight.

    A session-level advisory lock on PostgreSQL, released if the worker dies (its connection
    ends); nothing elsewhere, where one worker at a time is the rule (SQLite)."""
    if connection.vendor != "postgresql":
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_lock(%s, %s)", [SITE_TURN_LOCK, installation_id])
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s, %s)", [SITE_TURN_LOCK, installation_id])


class SitePause:
    """Wraps each send of one site's `JiraClient`: refuses to send while the site is paused,
    and turns an answer asking to wait into a pause of the site for every worker.

    An answer 429 (or 5xx) with a usable `Retry-After` / `X-RateLimit-Reset` pauses the site for
    that long, a 429 without one for `default_pause` seconds; either way `SitePaused` is raised
    at once, so the client does not sleep and retry in line and the relay moves on."""

    def __init__(self, installation_id: int, *, default_pause: float = 1.0) -> None:
        self.installation_id = installation_id
        self.default_pause = default_pause

    def __call__(self, request: Any, send: Callable[[], Response]) -> Response:
        with site_turn(self.installation_id):
            until = paused_until(self.installation_id)
            if until is not None:
                raise SitePaused(self.installation_id, until, "paused by an earlier answer")
            response = send()
            self._pause_if_asked(response)
        return response

    def _pause_if_asked(self, response: Response) -> None:
        status = response.status_code
        if status == 429 or status >= 500:
            hint = retry_hint(response)
            if status == 429 and hint is None:
                hint = self.default_pause
            if hint:
                reason = f"Jira answered {status} and asked to wait {hint:.0f} s"
                until = pause_site(self.installation_id, hint, reason)
                response.close()
                site = response.url.split("/rest/")[0]
                logger.warning(
                    "Jira site=%s status=%s failure=HTTP %s paused_until=%s",
                    site,
                    status,
                    status,
                    until.isoformat(timespec="seconds"),
                    extra={
                        "site": site,
                        "status": status,
                        "failure": f"HTTP {status}",
                        "paused_until": until.isoformat(),
                    },
                )
                raise SitePaused(self.installation_id, until, reason)
