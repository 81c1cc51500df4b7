"""Figures for the home page, computed by the database: mean time to resolve, open incidents by
severity."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import Avg, Count, DurationField, ExpressionWrapper, F
from django.utils import timezone

from incidents.models import Incident

MTTR_WINDOW_DAYS = 30


@dataclass(frozen=True)
class ResolutionFigures:
    days: int
    resolved: int
    mean: timedelta | None


def mean_time_to_resolve(
    days: int = MTTR_WINDOW_DAYS, now: datetime | None = None
) -> ResolutionFigures:
    """Mean of (resolved - raised) over the incidents resolved in the last `days` days, in one
    aggregate query."""
    now = now or timezone.now()
    duration = ExpressionWrapper(F("resolved_at") - F("created_date"), output_field=DurationField())
    figures = Incident.objects.filter(
        status=Incident.Status.RESOLVED,
        resolved_at__gt=now - timedelta(days=days),
        resolved_at__lte=now,
    ).aggregate(resolved=Count("pk"), mean=Avg(duration))
    return ResolutionFigures(days=days, resolved=figures["resolved"], mean=figures["mean"])


SEVERITY_ORDER = [
    Incident.Severity.P1,
    Incident.Severity.P2,
    Incident.Severity.P3,
    Incident.Severity.P4,
    Incident.Severity.P5,
    Incident.Severity.UNKNOWN,
    "",
]


def open_incident_counts() -> dict[str, int]:
    """How many incidents are open per severity (one grouped query)."""
    rows = (
        Incident.objects.filter(status=Incident.Status.OPEN)
        .order_by()
        .values("severity")
        .annotate(total=Count("pk"))
    )
    return {row["severity"]: row["total"] for row in rows}


def humane_duration(value: timedelta | None) -> str:
    """A duration as staff say it: "2 h 05 min", "3 d 4 h", "45 s"."""
    if value is None:
        return "—"
    seconds = max(int(value.total_seconds()), 0)
    days, seconds = divmod(seconds, 86400)
    hours, seconds = divmod(seconds, 3600)
    minutes, seconds = divmod(seconds, 60)
    if days:
        return f"{days} d {hours} h"
    if hours:
        return f"{hours} h {minutes:02d} min"
    if minutes:
        return f"{minutes} min"
    return f"{seconds} s"
