"""`/healthz`: can this web process reach the database, and is a sync worker keeping up?

For load balancers, orchestrators and monitoring. The middleware answers before host validation
and the HTTPS redirect, because a probe usually comes over plain HTTP to an internal address that
is not in ALLOWED_HOSTS; nothing in the answer depends on the request. It needs no login and shows
no secret and no site URL: only counts (docs/deploy.md).

- 200 `ok`: the database answers and no due change has waited longer than
  `HEALTHZ_MAX_BACKLOG_AGE_SECONDS`;
- 200 `degraded`: the database answers but the oldest due change has waited longer (no worker
  is relaying: start one); keep the process in rotation, alert someone;
- 503 `error`: the database does not answer (or lacks the portal's tables); take it out.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.db import Error as DatabaseError
from django.db import connection
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed, JsonResponse

from incidents.models.outbox import backlog_summary

logger = logging.getLogger(__name__)

PATH = "/healthz"


def health_report() -> tuple[dict[str, Any], int]:
    """The `/healthz` body and its HTTP status."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except DatabaseError as exc:
        # The driver's message names the database host; it goes to the log, not the answer.
        logger.warning("Health check: the database does not answer: %s", exc)
        return {"status": "error", "database": "unavailable", "sync": None}, 503
    try:
        sync = backlog_summary()
    except DatabaseError as exc:
        logger.warning("Health check: the outbox cannot be read: %s", exc)
        return {"status": "error", "database": "ok", "sync": None}, 503
    age = sync["oldest_pending_age_seconds"]
    stuck = age is not None and age > settings.HEALTHZ_MAX_BACKLOG_AGE_SECONDS
    return {"status": "degraded" if stuck else "ok", "database": "ok", "sync": sync}, 200


def healthz(request: HttpRequest) -> HttpResponse:
    if request.method not in ("GET", "HEAD"):
        return HttpResponseNotAllowed(["GET", "HEAD"])
    report, status = health_report()
    response = JsonResponse(report, status=status)
    response["Cache-Control"] = "no-store"
    return response


class HealthCheckMiddleware:
    """Answer `/healthz` whatever the Host header and scheme; first in MIDDLEWARE."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path_info == PATH:
            return healthz(request)
        return self.get_response(request)
