"""/healthz: the database and the sync backlog in figures, for probes that send any Host over HTTP.

The 503 for a database that does not answer is checked against a real gunicorn in
tests/test_serving.py.
"""

from datetime import timedelta

import pytest
from django.utils import timezone

from connect.models import Installation
from incidents.models.outbox import SiteSyncStatus, SyncState, backlog_summary
from tests.incidents.factories import make_installation

pytestmark = pytest.mark.django_db

THRESHOLD = 300


@pytest.fixture(autouse=True)
def threshold(settings):
    settings.HEALTHZ_MAX_BACKLOG_AGE_SECONDS = THRESHOLD


def state(installation, n, **fields):
    return SyncState.objects.create(
        installation=installation, kind=SyncState.Kind.INCIDENT, external_id=f"inc-{n}", **fields
    )


def ago(seconds):
    return timezone.now() - timedelta(seconds=seconds)


def test_an_empty_outbox_is_ok(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert response["Cache-Control"] == "no-store"
    assert response.json() == {
        "status": "ok",
        "database": "ok",
        "sync": {
            "backlog": 0,
            "oldest_pending_age_seconds": None,
            "failed": 0,
            "sites_needing_attention": 0,
            "sites_paused": 0,
        },
    }


def test_a_due_change_waiting_longer_than_the_threshold_is_degraded_but_still_200(client):
    site = make_installation()
    state(site, 1, next_attempt_at=ago(THRESHOLD + 60))
    state(site, 2, next_attempt_at=ago(5))
    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "degraded"
    assert body["sync"]["backlog"] == 2
    assert THRESHOLD + 60 <= body["sync"]["oldest_pending_age_seconds"] < THRESHOLD + 120


def test_a_recent_backlog_is_ok(client):
    site = make_installation()
    state(site, 1, next_attempt_at=ago(THRESHOLD - 60))
    body = client.get("/healthz").json()
    assert body["status"] == "ok"
    assert THRESHOLD - 60 <= body["sync"]["oldest_pending_age_seconds"] < THRESHOLD


def test_changes_a_worker_is_not_meant_to_send_yet_do_not_make_it_degraded(client):
    """An old change backing off after a failure, one leased by a worker right now, and the
    rows of sites that are paused, waiting for staff or uninstalled are all pending, not due."""
    site = make_installation()
    state(site, 1, changed_at=ago(86400), next_attempt_at=timezone.now() + timedelta(minutes=5))
    state(site, 2, next_attempt_at=ago(3600), claimed_until=timezone.now() + timedelta(seconds=60))
    paused, attention, gone, disabled = (make_installation() for _ in range(4))
    SiteSyncStatus.objects.create(installation=paused, paused_until=ago(-600))
    SiteSyncStatus.objects.create(installation=attention, needs_attention=True)
    gone.state = Installation.State.UNINSTALLED
    gone.save()
    disabled.enabled = False
    disabled.save()
    for n, held in enumerate((paused, attention, gone, disabled), start=3):
        state(held, n, next_attempt_at=ago(3600))

    body = client.get("/healthz").json()
    assert body["status"] == "ok"
    assert body["sync"] == {
        "backlog": 6,
        "oldest_pending_age_seconds": None,
        "failed": 0,
        "sites_needing_attention": 1,
        "sites_paused": 1,
    }


def test_an_expired_lease_counts_as_due_again():
    site = make_installation()
    state(site, 1, next_attempt_at=ago(THRESHOLD * 2), claimed_until=ago(1))
    age = backlog_summary()["oldest_pending_age_seconds"]
    assert age is not None and age >= THRESHOLD * 2


def test_refused_entities_are_counted_as_failed_and_synced_rows_are_not_backlog():
    site = make_installation()
    state(site, 1, pending=False, error="Jira refused: summary too long")
    state(site, 2, pending=False, present_in_jira=True)
    state(site, 3)
    figures = backlog_summary()
    assert figures["failed"] == 1
    assert figures["backlog"] == 1


def test_held_back_sites_of_uninstalled_apps_are_not_counted():
    gone = make_installation(state=Installation.State.UNINSTALLED)
    SiteSyncStatus.objects.create(installation=gone, needs_attention=True, paused_until=ago(-60))
    figures = backlog_summary()
    assert figures["sites_needing_attention"] == 0
    assert figures["sites_paused"] == 0


def test_the_answer_names_no_site_and_no_secret(client):
    site = make_installation(base_url="https://private-customer.atlassian.net")
    SiteSyncStatus.objects.create(installation=site, needs_attention=True, last_error="boom")
    state(site, 1, error="Jira refused: private summary", pending=False)
    text = client.get("/healthz").content.decode()
    for private in ("private-customer", site.client_key, "encrypted-secret-canary", "private"):
        assert private not in text


def test_a_probe_over_plain_http_with_any_host_is_answered(client, settings):
    """Load balancers probe an internal address over HTTP: no redirect, no DisallowedHost."""
    settings.ALLOWED_HOSTS = ["ops.example.com"]
    settings.SECURE_SSL_REDIRECT = True
    response = client.get("/healthz", HTTP_HOST="10.0.0.7:8000")
    assert response.status_code == 200
    assert response.json()["status"] == "ok"
    # Everything else still gets both rules.
    assert client.get("/admin/login/", HTTP_HOST="10.0.0.7:8000").status_code == 400
    redirect = client.get("/admin/login/", HTTP_HOST="ops.example.com")
    assert redirect.status_code == 301
    assert redirect["Location"] == "https://ops.example.com/admin/login/"


def test_head_is_answered_and_other_methods_are_refused(client):
    assert client.head("/healthz").status_code == 200
    response = client.post("/healthz", data={"status": "ok"})
    assert response.status_code == 405
    assert response["Allow"] == "GET, HEAD"


def test_health_needs_no_login_and_sets_no_cookie(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert not response.cookies


def test_the_figures_take_a_few_queries_whatever_the_backlog(django_assert_max_num_queries):
    site = make_installation()
    SyncState.objects.bulk_create(
        SyncState(
            installation=site,
            kind=SyncState.Kind.INCIDENT,
            external_id=f"inc-{n}",
            next_attempt_at=ago(n),
        )
        for n in range(500)
    )
    with django_assert_max_num_queries(4):
        figures = backlog_summary()
    assert figures["backlog"] == 500
    age = figures["oldest_pending_age_seconds"]
    assert age is not None and 499 <= age < 560
