"""Mean time to resolve over the last 30 days, computed by the database."""

from datetime import timedelta

import pytest
from django.utils import timezone

from incidents.metrics import humane_duration, mean_time_to_resolve
from incidents.models import Incident
from tests.incidents.factories import make_incident

pytestmark = pytest.mark.django_db


def resolved(raised_hours_before: float, resolved_days_ago: float = 0) -> Incident:
    now = timezone.now()
    resolved_at = now - timedelta(days=resolved_days_ago)
    incident = make_incident(created_date=resolved_at - timedelta(hours=raised_hours_before))
    Incident.objects.filter(pk=incident.pk).update(status="resolved", resolved_at=resolved_at)
    return incident


def test_the_mean_covers_incidents_resolved_in_the_last_30_days_only():
    resolved(1)
    resolved(2, resolved_days_ago=10)
    resolved(6, resolved_days_ago=29)
    resolved(100, resolved_days_ago=31)  # outside the window
    make_incident()  # still open
    figures = mean_time_to_resolve()
    assert figures.resolved == 3
    assert figures.mean == timedelta(hours=3)


def test_no_resolved_incident_gives_no_mean():
    make_incident()
    figures = mean_time_to_resolve()
    assert (figures.resolved, figures.mean) == (0, None)
    assert humane_duration(figures.mean) == "—"


def test_the_mean_is_computed_in_one_query(django_assert_num_queries):
    resolved(1)
    resolved(2)
    with django_assert_num_queries(1):
        mean_time_to_resolve()


def test_a_reopened_incident_leaves_the_figures():
    incident = resolved(4)
    incident.refresh_from_db()
    incident.status = Incident.Status.OPEN
    incident.save()
    assert mean_time_to_resolve().resolved == 0


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (timedelta(seconds=45), "45 s"),
        (timedelta(minutes=7, seconds=3), "7 min"),
        (timedelta(hours=2, minutes=5), "2 h 05 min"),
        (timedelta(days=3, hours=4, minutes=59), "3 d 4 h"),
    ],
)
def test_durations_read_as_staff_say_them(value, text):
    assert humane_duration(value) == text
