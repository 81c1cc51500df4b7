"""Fuzz the REST API and the webhooks from /api/schema/, in-process, with a valid bearer token on
every case: no generated request may get a 5xx, and documented answers match their schemas."""

from collections import Counter, defaultdict

import pytest
import schemathesis
from django.core import signals
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from incidents.models import Container, Integration, Workspace
from incidents.workflow import declare_incident

from .conftest import make_integration

schema = schemathesis.openapi.from_wsgi("/api/schema/?format=json", get_wsgi_application()).include(
    tag_regex="^(Incidents|Alert webhooks)$"
)
schema.config.generation.update(with_security_parameters=False)

EXAMPLES_PER_OPERATION = 40
STATUSES: dict[str, Counter] = defaultdict(Counter)


@pytest.fixture
def keep_test_connection():
    """Django closes "old" connections when a WSGI request ends; that would close the test's
    own transaction on PostgreSQL (as in tests/actions/test_fuzz_schemathesis.py)."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@pytest.fixture
def fuzz_token(db, keep_test_connection) -> str:
    mine = Workspace.objects.create(external_id="mine", name="Mine", url="https://ops.example.com")
    theirs = Workspace.objects.create(external_id="t", name="T", url="https://ops.example.com")
    for n in range(3):
        Container.objects.create(
            workspace=mine, external_id=f"svc-{n}", name=f"Svc {n}", url=mine.url
        )
    declare_incident(mine, "Existing")
    declare_incident(theirs, "Theirs")
    return make_integration(mine, "fuzz", kind=Integration.Kind.GENERIC)[1]


@pytest.fixture(scope="module", autouse=True)
def every_operation_was_answered_successfully_at_least_once():
    """Every operation answered 2xx at least once (the documented examples, e.g. INC-1 and the
    webhook bodies): the cases reached its code, not only the refusals."""
    yield
    print("\nstatus codes per operation:", {op: dict(c) for op, c in STATUSES.items()})
    for operation, statuses in STATUSES.items():
        assert any(200 <= status < 300 for status in statuses), (operation, statuses)


@schema.parametrize()
@settings(
    max_examples=EXAMPLES_PER_OPERATION,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
)
def test_no_generated_request_gets_a_server_error(case, fuzz_token):
    response = case.call_and_validate(
        headers={"Authorization": f"Bearer {fuzz_token}"},
        checks=[not_a_server_error, response_schema_conformance],
    )
    STATUSES[case.operation.label][response.status_code] += 1
    assert response.status_code != 401, response.text
