"""Fuzz the four actions from the portal's own OpenAPI document (/api/schema/), in-process (the
operations tagged "Jira actions").

Every generated case, valid or deliberately malformed, is signed with a fresh Connect JWT for
its own method, path and query (`connect_jwt_header`, applied per case), so every call gets past
authentication and reaches the action code; none may answer a 5xx, and every documented answer
must match its documented schema.
"""

from collections import Counter, defaultdict

import pytest
import schemathesis
from django.core.wsgi import get_wsgi_application
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance
from werkzeug.test import EnvironBuilder

from tests.fuzzing import assert_every_operation_succeeded

from .support import make_container, make_site, make_workspace, token_for

# The document also holds the REST API and the webhooks (tests/api/test_fuzz_api.py fuzzes them).
schema = schemathesis.openapi.from_wsgi("/api/schema/?format=json", get_wsgi_application()).include(
    tag="Jira actions"
)
# The Authorization header comes from the auth hook below, never from generated data.
schema.config.generation.update(with_security_parameters=False)

#: Cases per operation; 6 operations times this stays well under a minute.
EXAMPLES_PER_OPERATION = 60
#: Status codes seen, per operation, to show that the cases reached the actions' code.
STATUSES: dict[str, Counter] = defaultdict(Counter)


def wire_query(case) -> str:
    """The query string exactly as the WSGI transport will encode the case's parameters."""
    from schemathesis.transport.requests import prepare_query

    query = prepare_query(case)
    if isinstance(query, str):
        return query
    return EnvironBuilder(path="/", query_string=query or None).query_string


def connect_jwt_header(case, site) -> dict[str, str]:
    """The per-case auth hook: a valid token for this very request (HS256 with the site's secret,
    `iss` = clientKey, qsh of its method, path and query as sent). Minted when the case is sent,
    not when it is generated, because schemathesis generates some cases before any fixture runs
    and a token minted then could have expired."""
    token = token_for(site, case.method, case.formatted_path, wire_query(case))
    return {"Authorization": f"JWT {token}"}


@pytest.fixture
def fuzz_site(db, keep_test_connection):
    site = make_site("fuzz")
    other = make_site("fuzz-other")
    mine = make_workspace("ws-payments", sites=[site])
    theirs = make_workspace("ws-theirs", sites=[other])
    for n in range(5):
        make_container(mine, f"svc-{n}", f"Service {n}")
    make_container(mine, "payments-db", "Payments DB")  # the id of the documented examples
    make_container(theirs, "their-svc")
    return site


@pytest.fixture(scope="module", autouse=True)
def every_operation_was_answered_successfully_at_least_once():
    yield
    assert_every_operation_succeeded(STATUSES)


@schema.parametrize()
@settings(
    max_examples=EXAMPLES_PER_OPERATION,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
)
def test_no_generated_request_gets_a_server_error(case, fuzz_site):
    response = case.call_and_validate(
        headers=connect_jwt_header(case, fuzz_site),
        checks=[not_a_server_error, response_schema_conformance],
    )
    STATUSES[case.operation.label][response.status_code] += 1
    assert response.status_code != 401, response.text  # every case got past authentication
