"""Concurrent saves on PostgreSQL: the row lock serialises the database-side increment."""

import threading
from unittest import mock

import pytest
from django.db import connection, transaction

from incidents.models import Incident

from .factories import make_incident

pytestmark = [pytest.mark.postgres]

THREADS = 4
SAVES_PER_THREAD = 25


def run_concurrently(work) -> list[int]:
    """Run `work(thread_index)` in THREADS threads that start together; gather what they return."""
    barrier = threading.Barrier(THREADS)
    results: list[int] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def runner(index: int) -> None:
        try:
            barrier.wait()
            values = work(index)
            with lock:
                results.extend(values)
        except BaseException as exc:  # reported to the test thread below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=runner, args=(n,)) for n in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors
    return results


@pytest.mark.django_db(transaction=True)
def test_concurrent_saves_of_one_incident_never_share_a_number():
    incident = make_incident()
    start = incident.update_sequence_number

    def save_many(index: int) -> list[int]:
        seen = []
        for n in range(SAVES_PER_THREAD):
            copy = Incident.objects.get(pk=incident.pk)
            copy.summary = f"thread {index} edit {n}"
            with transaction.atomic():
                copy.save()
            seen.append(copy.update_sequence_number)
        return seen

    # A frozen clock leaves only the database-side "+ 1" to tell the saves apart.
    with mock.patch("incidents.models.sequence.now_epoch_millis", return_value=start):
        numbers = run_concurrently(save_many)

    assert len(numbers) == THREADS * SAVES_PER_THREAD
    assert len(set(numbers)) == len(numbers)
    incident.refresh_from_db()
    assert incident.update_sequence_number == max(numbers) == start + len(numbers)


@pytest.mark.django_db(transaction=True)
def test_concurrent_saves_and_bulk_updates_interleave_without_duplicates():
    incident = make_incident()
    start = incident.update_sequence_number

    def mixed(index: int) -> list[int]:
        seen = []
        for n in range(SAVES_PER_THREAD):
            with transaction.atomic():
                if index % 2:
                    Incident.objects.filter(pk=incident.pk).update(summary=f"bulk {n}")
                    seen.append(
                        Incident.objects.values_list("update_sequence_number", flat=True).get(
                            pk=incident.pk
                        )
                    )
                else:
                    copy = Incident.objects.get(pk=incident.pk)
                    copy.bump_sequence()
                    seen.append(copy.update_sequence_number)
        return seen

    with mock.patch("incidents.models.sequence.now_epoch_millis", return_value=start):
        numbers = run_concurrently(mixed)

    incident.refresh_from_db()
    assert incident.update_sequence_number == start + THREADS * SAVES_PER_THREAD
    assert len(set(numbers)) == len(numbers)
