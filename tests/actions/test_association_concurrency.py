"""Ten copies of one onEntityAssociated call arriving at once leave exactly one row."""

import threading

import pytest
from django.db import connections

from incidents.models.associations import EntityAssociation
from incidents.provider.rules import JiraTarget, record_association

from .support import make_container, make_site, make_workspace

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.postgres,
]
COPIES = 10


def test_concurrent_replays_create_one_row():
    site = make_site("race")
    make_container(make_workspace("ws-race", sites=[site]), "payments-db")
    target = JiraTarget(ari="ari:cloud:jira:cloud-race:project/1")
    barrier = threading.Barrier(COPIES)
    outcomes: list[object] = []

    def replay() -> None:
        try:
            barrier.wait()
            _, created = record_association(site, entity_id="payments-db", target=target)
            outcomes.append(created)
        except Exception as exc:  # reported by the assertion below
            outcomes.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=replay) for _ in range(COPIES)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(outcomes, key=str) == [False] * (COPIES - 1) + [True]
    assert EntityAssociation.objects.count() == 1
