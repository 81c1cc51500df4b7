"""Alert storms: many notifications for one group become one incident, with every update kept.

Sequentially on any database; concurrently on PostgreSQL, from threads that each hold their own
connection, so the database (the unique constraint on open groups, the row locks) is what
absorbs the storm.
"""

import threading

import pytest
from django.db import connection
from django.test import Client

from incidents.models import AlertGroup, Container, Delivery, Incident

from .conftest import TokenClient, body

requires_postgres = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="needs PostgreSQL's concurrent transactions"
)
STORM = 24


def notification(n: int) -> dict:
    """The same group each time, each naming one more service of its own."""
    payload = body("alertmanager_firing")
    payload["alerts"][1]["labels"]["service"] = f"worker-{n:02d}"
    return payload


def assert_absorbed(answers: list, total: int) -> None:
    assert [status for status, _ in answers] == [202] * total
    ids = {tuple(incidents) for _, incidents in answers}
    assert len(ids) == 1, ids
    (incident_id,) = ids.pop()
    incident = Incident.objects.get()
    assert incident.external_id == incident_id
    services = {c.external_id for c in incident.affected_containers.all()}
    assert services == {"payments-api"} | {f"worker-{n:02d}" for n in range(total)}
    assert AlertGroup.objects.filter(is_open=True).count() == 1
    outcomes = list(Delivery.objects.values_list("outcome", flat=True))
    assert len(outcomes) == total
    assert outcomes.count("created") == 1
    assert set(outcomes) <= {"created", "updated"}


def test_sequential_storm_is_one_incident(api, containers):
    answers = []
    for n in range(STORM):
        response = api.post("/api/v1/hooks/alertmanager/", notification(n))
        answers.append((response.status_code, response.json().get("incidents")))
    assert_absorbed(answers, STORM)


def run_together(work, count: int) -> list:
    barrier = threading.Barrier(count)
    results: list = [None] * count
    errors: list[BaseException] = []

    def runner(index: int) -> None:
        try:
            barrier.wait()
            results[index] = work(index)
        except BaseException as exc:  # reported to the test thread below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=runner, args=(n,)) for n in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors
    return results


@pytest.mark.postgres
@requires_postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_storm_is_one_incident_with_every_update(integration, containers):
    token = integration[1]

    def post(n: int):
        response = TokenClient(Client(), token).post("/api/v1/hooks/alertmanager/", notification(n))
        return response.status_code, response.json().get("incidents")

    assert_absorbed(run_together(post, STORM), STORM)


@pytest.mark.postgres
@requires_postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_new_service_is_created_once(integration, containers):
    token = integration[1]

    def post(n: int):
        response = TokenClient(Client(), token).post(
            "/api/v1/hooks/generic/",
            {"dedup_key": f"k{n}", "status": "firing", "summary": "x", "service": "Brand New"},
        )
        return response.status_code, response.json().get("incidents")

    answers = run_together(post, 12)
    assert [status for status, _ in answers] == [202] * 12
    assert Incident.objects.count() == 12
    (created,) = Container.objects.filter(name="Brand New")
    assert all(i.affected_containers.get() == created for i in Incident.objects.all())


@pytest.mark.postgres
@requires_postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_retries_with_one_idempotency_key_create_once(integration, containers):
    token = integration[1]

    def post(n: int):
        response = TokenClient(Client(), token).post(
            "/api/v1/incidents/",
            {"summary": "Checkout down", "severity": "P1"},
            headers={"Idempotency-Key": "retry-me"},
        )
        return response.status_code, response.json()["id"]

    answers = run_together(post, 12)
    assert {status for status, _ in answers} == {201}
    assert len({incident_id for _, incident_id in answers}) == 1
    assert Incident.objects.count() == 1
