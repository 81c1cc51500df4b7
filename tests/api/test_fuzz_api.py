"""Fuzz the REST API and the webhooks from /api/schema/, in-process, with a valid bearer token on
every case: no generated request may get a 5xx, and documented answers match their schemas."""

from collections import Counter, defaultdict

import pytest
import schemathesis
from django.core.wsgi import get_wsgi_application
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from incidents.models import Container, Integration, Workspace
from incidents.workflow import declare_incident
from tests.fuzzing import assert_every_operation_succeeded

from .conftest import make_integration

schema = schemathesis.openapi.from_wsgi("/api/schema/?format=json", get_wsgi_application()).include(
    tag_regex="^(Incidents|Alert webhooks)$"
)
schema.config.generation.update(with_security_parameters=False)

EXAMPLES_PER_OPERATION = 40
STATUSES: dict[str, Counter] = defaultdict(Counter)


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
    """The documented examples (INC-1, the webhook bodies, a note) reach each operation's
    code, not only its refusals."""
    yield
    assert_every_operation_succeeded(STATUSES)


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
