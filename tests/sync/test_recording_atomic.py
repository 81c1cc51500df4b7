"""An edit and its outbox rows commit together or not at all, through every entry point.

On PostgreSQL the outbox table is locked by another connection (as a long transaction or a
migration would) with `lock_timeout` at 1 s: the edit must raise and leave nothing committed.
On every database, a failure inside `record_changes` must roll the edit back.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import psycopg
import pytest
from django.db import DatabaseError, connection

from incidents.models import (
    Container,
    Incident,
    IncidentAssociation,
    PostIncidentReview,
    SyncState,
    Workspace,
    WorkspaceLink,
)
from incidents.sync import recording
from tests.incidents.factories import (
    make_container,
    make_incident,
    make_installation,
    make_review,
    make_workspace,
)

pytestmark = pytest.mark.django_db(transaction=True)


class RecordingFailed(Exception):
    pass


def _linked_incident() -> tuple[Incident, Workspace]:
    workspace = make_workspace()
    workspace.link_site(make_installation())
    return make_incident(workspace), workspace


# Each entry point: (set-up returning state, the edit, a check that the edit did not commit).
def _save() -> tuple[Callable[[], object], Callable[[], bool]]:
    incident, _ = _linked_incident()

    def edit() -> None:
        incident.summary = "changed while the outbox is locked"
        incident.save()

    return edit, lambda: Incident.objects.get(pk=incident.pk).summary == incident.summary


def _create() -> tuple[Callable[[], object], Callable[[], bool]]:
    _, workspace = _linked_incident()
    container = Container.objects.filter(workspace=workspace).first()
    assert container is not None

    def edit() -> None:
        new = Incident(
            external_id="INC-LOCKED",
            workspace=workspace,
            summary="new",
            url="https://status.example.com/inc",
        )
        new.save()
        new.affected_containers.add(container)

    return edit, lambda: Incident.objects.filter(external_id="INC-LOCKED").exists()


def _queryset_update() -> tuple[Callable[[], object], Callable[[], bool]]:
    incident, _ = _linked_incident()
    return (
        lambda: Incident.objects.filter(pk=incident.pk).update(status="resolved"),
        lambda: Incident.objects.get(pk=incident.pk).status == "resolved",
    )


def _delete() -> tuple[Callable[[], object], Callable[[], bool]]:
    incident, _ = _linked_incident()
    pk = incident.pk
    return incident.delete, lambda: not Incident.objects.filter(pk=pk).exists()


def _queryset_delete() -> tuple[Callable[[], object], Callable[[], bool]]:
    incident, _ = _linked_incident()
    return (
        lambda: Incident.objects.filter(pk=incident.pk).delete(),
        lambda: not Incident.objects.filter(pk=incident.pk).exists(),
    )


def _m2m_add() -> tuple[Callable[[], object], Callable[[], bool]]:
    incident, workspace = _linked_incident()
    extra = make_container(workspace)
    return (
        lambda: incident.affected_containers.add(extra),
        lambda: incident.affected_containers.filter(pk=extra.pk).exists(),
    )


def _m2m_reverse_remove() -> tuple[Callable[[], object], Callable[[], bool]]:
    incident, workspace = _linked_incident()
    review = make_review([incident], workspace=workspace)
    other = make_incident(workspace)
    review.incidents.add(other)
    return (
        lambda: other.reviews.remove(review),
        lambda: not review.incidents.filter(pk=other.pk).exists(),
    )


def _association() -> tuple[Callable[[], object], Callable[[], bool]]:
    incident, _ = _linked_incident()
    return (
        lambda: IncidentAssociation.objects.create(incident=incident, value="OPS-1"),
        lambda: IncidentAssociation.objects.filter(incident=incident).exists(),
    )


def _container_delete() -> tuple[Callable[[], object], Callable[[], bool]]:
    incident, workspace = _linked_incident()
    extra = make_container(workspace)
    incident.affected_containers.add(extra)
    pk = extra.pk
    return extra.delete, lambda: not Container.objects.filter(pk=pk).exists()


def _link() -> tuple[Callable[[], object], Callable[[], bool]]:
    _, workspace = _linked_incident()
    other_site = make_installation()
    return (
        lambda: workspace.link_site(other_site),
        lambda: WorkspaceLink.objects.filter(installation=other_site).exists(),
    )


def _unlink() -> tuple[Callable[[], object], Callable[[], bool]]:
    _, workspace = _linked_incident()
    site = workspace.links.get().installation
    return (
        lambda: workspace.unlink_site(site),
        lambda: not WorkspaceLink.objects.filter(installation=site).exists(),
    )


def _review_save() -> tuple[Callable[[], object], Callable[[], bool]]:
    incident, workspace = _linked_incident()
    review = make_review([incident], workspace=workspace)

    def edit() -> None:
        review.status = PostIncidentReview.Status.COMPLETED
        review.save()

    return edit, lambda: PostIncidentReview.objects.get(pk=review.pk).status == "completed"


ENTRY_POINTS = {
    "save": _save,
    "create": _create,
    "queryset_update": _queryset_update,
    "delete": _delete,
    "queryset_delete": _queryset_delete,
    "m2m_add": _m2m_add,
    "m2m_reverse_remove": _m2m_reverse_remove,
    "association": _association,
    "container_delete": _container_delete,
    "link": _link,
    "unlink": _unlink,
    "review_save": _review_save,
}


@pytest.mark.parametrize("entry_point", ENTRY_POINTS)
def test_an_edit_whose_recording_fails_is_rolled_back(entry_point, monkeypatch):
    edit, committed = ENTRY_POINTS[entry_point]()

    def fail(*args, **kwargs):
        raise RecordingFailed("the outbox refused the row")

    monkeypatch.setattr(recording, "mark_changed", fail)
    with pytest.raises(RecordingFailed, match="the outbox refused the row"):
        edit()
    monkeypatch.undo()
    assert not committed()


@contextmanager
def outbox_locked_by_another_connection() -> Iterator[None]:
    """Hold an ACCESS EXCLUSIVE lock on the outbox table from a second connection."""
    params = connection.get_connection_params()
    locked, release = threading.Event(), threading.Event()

    def hold() -> None:
        with psycopg.connect(**params) as other:
            other.execute(f"LOCK TABLE {SyncState._meta.db_table} IN ACCESS EXCLUSIVE MODE")
            locked.set()
            release.wait(30)
            other.rollback()

    holder = threading.Thread(target=hold)
    holder.start()
    assert locked.wait(10), "the second connection could not lock the outbox"
    try:
        yield
    finally:
        release.set()
        holder.join(10)


@pytest.mark.postgres
@pytest.mark.parametrize("entry_point", ENTRY_POINTS)
def test_an_edit_while_the_outbox_is_locked_commits_nothing(entry_point):
    edit, committed = ENTRY_POINTS[entry_point]()
    with connection.cursor() as cursor:
        cursor.execute("SET lock_timeout = '1s'")
    try:
        with outbox_locked_by_another_connection(), pytest.raises(DatabaseError) as caught:
            edit()
        assert "lock timeout" in str(caught.value)
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SET lock_timeout = 0")
    assert not committed()
