"""JiraClient against a local HTTP Jira that checks each request's JWT and qsh."""

import logging
import random
from datetime import UTC, datetime
from types import SimpleNamespace

import pytest
import requests

from connect import client as jira_client
from connect import jwt as connect_jwt
from connect.client import (
    MAX_ENTITIES_PER_REQUEST,
    MAX_WORKSPACE_IDS_PER_REQUEST,
    JiraAuthError,
    JiraBadRequest,
    JiraClient,
    JiraError,
    JiraNotFound,
    JiraPayloadTooLarge,
    JiraUnavailable,
    retry_hint,
)
from connect.models import Installation

from .fake_jira import FakeJira, Reply
from .support import APP_KEY, free_port

SECRET = "site-secret-" + "q" * 64
API = "/rest/operations/1.0"


@pytest.fixture
def jira():
    server = FakeJira(SECRET, APP_KEY).start()
    yield server
    server.stop()


def site(base_url, **fields):
    installation = Installation(client_key="site-a", base_url=base_url, **fields)
    installation.set_shared_secret(SECRET)
    return installation


@pytest.fixture
def waits():
    return []


@pytest.fixture
def make_client(waits):
    clients = []

    def make(base_url, **kwargs):
        kwargs.setdefault("sleep", waits.append)
        kwargs.setdefault("rng", random.Random(7))
        kwargs.setdefault("timeout", (2, 5))
        client = JiraClient(site(base_url), **kwargs)
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()


def assert_all_signed(jira):
    assert jira.received
    assert [r.problem for r in jira.received] == [None] * len(jira.received)


def test_retries_429_then_503_then_succeeds(jira, make_client, waits):
    accepted = {"acceptedIncidents": ["i-1"], "failedIncidents": {}, "unknownProjectKeys": []}
    jira.script = [Reply(429, None, {"Retry-After": "2"}), Reply(503), Reply(202, accepted)]
    result = make_client(jira.url).submit_entities(incidents=[{"id": "i-1"}])
    assert result == accepted
    assert len(jira.received) == 3
    assert waits[0] >= 2
    assert 0 < waits[1] <= 2 * 1.3
    assert_all_signed(jira)


def test_each_attempt_is_signed_afresh(jira, make_client, waits, monkeypatch):
    clock = SimpleNamespace(now=1_900_000_000.0)
    monkeypatch.setattr(connect_jwt, "time", SimpleNamespace(time=lambda: clock.now))

    def sleep(seconds):
        waits.append(seconds)
        clock.now += 600  # longer than a token's life

    jira.verify_times = False  # the fake clock is years ahead
    jira.script = [Reply(503), Reply(202, {})]
    make_client(jira.url, sleep=sleep).submit_workspaces(["w1"])
    assert [r.problem for r in jira.received] == [None, None]
    first, second = (r.claims for r in jira.received)
    assert second["iat"] == first["iat"] + 600
    assert second["exp"] - second["iat"] == connect_jwt.OUTGOING_TOKEN_LIFETIME_SECONDS


def test_a_wait_longer_than_allowed_is_left_to_the_caller(jira, make_client, waits):
    jira.script = [Reply(429, None, {"Retry-After": "1800"})]
    with pytest.raises(JiraUnavailable) as raised:
        make_client(jira.url, max_retry_wait=300).submit_workspaces(["w1"])
    assert raised.value.retry_after == 1800
    assert waits == []
    assert len(jira.received) == 1


def test_retries_stop_after_max_attempts(jira, make_client, waits):
    jira.default = Reply(503)
    with pytest.raises(JiraUnavailable) as raised:
        make_client(jira.url, max_attempts=4, backoff_cap=3).get_workspaces()
    assert len(jira.received) == 4
    assert len(waits) == 3
    assert all(0 < wait <= 3 for wait in waits)
    assert raised.value.status == 503


def test_413_asks_the_caller_to_split_the_batch(jira, make_client):
    jira.script = [Reply(413, [{"message": "Data is too large."}])]
    with pytest.raises(JiraPayloadTooLarge) as raised:
        make_client(jira.url).submit_entities(incidents=[{"id": "i"}] * 3)
    assert raised.value.messages == ["Data is too large."]
    assert len(jira.received) == 1


@pytest.mark.parametrize(
    ("status", "error"),
    [
        (400, JiraBadRequest),
        (401, JiraAuthError),
        (403, JiraAuthError),
        (404, JiraNotFound),
        (409, JiraError),
    ],
)
def test_client_errors_are_not_retried(jira, make_client, waits, status, error):
    jira.script = [Reply(status, [{"message": "nope", "errorTraceId": "t"}])]
    with pytest.raises(error) as raised:
        make_client(jira.url).get_incident("i-1")
    assert raised.value.status == status
    assert raised.value.messages == ["nope"]
    assert len(jira.received) == 1
    assert waits == []


def test_redirects_are_not_followed(jira, make_client):
    jira.script = [Reply(302, None, {"Location": jira.url + "/elsewhere"})]
    with pytest.raises(JiraError, match="redirect"):
        make_client(jira.url).get_workspaces()
    assert len(jira.received) == 1


def test_connection_errors_are_retried(make_client, waits):
    with pytest.raises(JiraUnavailable) as raised:
        make_client(f"http://127.0.0.1:{free_port()}", max_attempts=3).get_workspaces()
    assert len(waits) == 2
    assert raised.value.status is None


def test_timeouts_are_retried(jira, make_client, waits):
    jira.script = [Reply(202, {}, delay=1.0)]
    make_client(jira.url, timeout=(2, 0.2)).submit_workspaces(["w1"])
    assert len(waits) == 1
    assert len(jira.received) == 2


def test_empty_success_body_is_an_empty_dict(jira, make_client):
    jira.script = [Reply(202, None)]
    assert make_client(jira.url).submit_workspaces(["w1"]) == {}


def test_non_json_success_body_is_an_error(jira, make_client):
    jira.script = [Reply(200, b"<html>")]
    with pytest.raises(JiraError, match="not JSON"):
        make_client(jira.url).get_workspaces()


def call_each_endpoint(client):
    client.submit_workspaces(["w1", "w2"])
    client.delete_workspaces(["111-222-333", "444-555-666"])
    client.get_workspaces()
    client.get_workspaces("w 1")
    client.submit_entities(
        reviews=[{"id": "r1"}],
        properties={"accountId": "acc 1"},
        provider_metadata={"product": "p"},
    )
    client.delete_by_properties({"createdBy": "u+1", "accountId": "a/b"})
    client.get_incident("inc/1?x#y")
    client.delete_incident("inc 2")
    client.get_review("pir~1")
    client.delete_review("pir%2")


def test_every_endpoint_sends_what_the_spec_says(jira, make_client):
    call_each_endpoint(make_client(jira.url))
    sent = [(r.method, r.path) for r in jira.received]
    assert sent == [
        ("POST", f"{API}/linkedWorkspaces/bulk"),
        ("DELETE", f"{API}/linkedWorkspaces/bulk?workspaceIds=111-222-333%2C444-555-666"),
        ("GET", f"{API}/linkedWorkspaces"),
        ("GET", f"{API}/linkedWorkspaces?workspaceId=w+1"),
        ("POST", f"{API}/bulk"),
        ("DELETE", f"{API}/bulkByProperties?accountId=a%2Fb&createdBy=u%2B1"),
        ("GET", f"{API}/incidents/inc%2F1%3Fx%23y"),
        ("DELETE", f"{API}/incidents/inc%202"),
        ("GET", f"{API}/post-incident-reviews/pir~1"),
        ("DELETE", f"{API}/post-incident-reviews/pir%252"),
    ]
    assert jira.received[0].json == {"workspaceIds": ["w1", "w2"]}
    assert jira.received[4].json == {
        "reviews": [{"id": "r1"}],
        "properties": {"accountId": "acc 1"},
        "providerMetadata": {"product": "p"},
    }
    assert_all_signed(jira)


def test_a_site_with_a_base_path_is_signed_relative_to_it(make_client):
    jira = FakeJira(SECRET, APP_KEY, base_path="/jira/site-a").start()
    try:
        call_each_endpoint(make_client(jira.url))
        assert all(r.path.startswith("/jira/site-a/rest/") for r in jira.received)
        assert_all_signed(jira)
    finally:
        jira.stop()


def test_headers_name_the_app(jira, make_client):
    make_client(jira.url).get_workspaces()
    headers = jira.received[0].headers
    assert headers["User-Agent"].startswith(APP_KEY + "/")
    assert headers["Accept"] == "application/json"


def test_a_submission_encoded_ahead_goes_as_json_signed_at_each_attempt(jira, make_client, waits):
    client = make_client(jira.url)
    body = client.encode_submission(
        incidents=[{"id": "i-1"}], properties={"workspaceId": "w1"}, provider_metadata={"p": "x"}
    )
    jira.script = [Reply(503), Reply(202, {})]
    client.submit_encoded(body)
    assert [r.json for r in jira.received] == [
        {
            "incidents": [{"id": "i-1"}],
            "properties": {"workspaceId": "w1"},
            "providerMetadata": {"p": "x"},
        }
    ] * 2
    assert {r.headers["Content-Type"] for r in jira.received} == {"application/json"}
    assert_all_signed(jira)


def test_an_encoded_submission_is_checked_as_the_plain_one_is(make_client):
    client = make_client("https://example.atlassian.net")
    with pytest.raises(ValueError):
        client.encode_submission(incidents=[{"id": "i"}] * 1001)
    with pytest.raises(ValueError):
        client.encode_submission()


def test_calls_are_logged_without_token_or_secret(jira, make_client, caplog):
    caplog.set_level(logging.DEBUG)
    jira.script = [Reply(503)]
    make_client(jira.url).submit_entities(incidents=[{"id": "a"}, {"id": "b"}])
    token = jira.received[0].headers["Authorization"][4:]
    assert "submit_entities" in caplog.text and "status=503" in caplog.text
    assert "status=202" in caplog.text and "entities=2" in caplog.text
    assert token not in caplog.text and SECRET not in caplog.text


def test_an_inactive_site_is_not_called(jira, waits):
    client = JiraClient(site(jira.url, state=Installation.State.UNINSTALLED), sleep=waits.append)
    with pytest.raises(JiraAuthError):
        client.get_workspaces()
    assert jira.received == []


def test_an_undecryptable_secret_is_an_auth_error(jira):
    installation = site(jira.url)
    installation.shared_secret_encrypted = "garbage"
    with pytest.raises(JiraAuthError, match="decrypted"):
        JiraClient(installation).get_workspaces()


@pytest.mark.parametrize(
    "call",
    [
        lambda c: c.submit_workspaces([]),
        lambda c: c.submit_workspaces([f"w{n}" for n in range(MAX_WORKSPACE_IDS_PER_REQUEST + 1)]),
        lambda c: c.delete_workspaces(["a,b"]),
        lambda c: c.submit_entities(),
        lambda c: c.submit_entities(incidents=[{}] * (MAX_ENTITIES_PER_REQUEST + 1)),
        lambda c: c.submit_entities(incidents=[{}], properties={f"k{n}": "v" for n in range(6)}),
        lambda c: c.delete_by_properties({}),
        lambda c: c.delete_by_properties({"a:b": "v"}),
        lambda c: c.delete_by_properties({"_hidden": "v"}),
        lambda c: c.get_incident(""),
        lambda c: c.get_review("r" * 256),
    ],
)
def test_requests_outside_jiras_limits_are_refused_locally(jira, make_client, call):
    with pytest.raises(ValueError):
        call(make_client(jira.url))
    assert jira.received == []


def test_limits_are_the_specs():
    assert (MAX_ENTITIES_PER_REQUEST, MAX_WORKSPACE_IDS_PER_REQUEST) == (1000, 100)


def response_with(**headers):
    response = requests.Response()
    response.headers.update(headers)
    return response


NOW = datetime(2026, 11, 23, 12, 0, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("headers", "seconds"),
    [
        ({"Retry-After": "7"}, 7),
        ({"Retry-After": "1.5"}, 1.5),
        ({"Retry-After": "Mon, 23 Nov 2026 12:00:30 GMT"}, 30),
        ({"Retry-After": "Mon, 23 Nov 2026 11:00:00 GMT"}, 0),
        ({"X-RateLimit-Reset": "2026-11-23T12:01:00Z"}, 60),
        ({"X-RateLimit-Reset": "2026-11-23T12:00:10.500+00:00"}, 10.5),
        ({"Retry-After": "3", "X-RateLimit-Reset": "2026-11-23T13:00:00Z"}, 3),
        ({"Retry-After": "soon"}, None),
        ({"X-RateLimit-Reset": "tomorrow"}, None),
        ({}, None),
    ],
)
def test_retry_hint(headers, seconds):
    assert retry_hint(response_with(**headers), now=NOW) == seconds


def test_backoff_grows_is_capped_and_jittered():
    client = JiraClient(
        site("https://x.atlassian.net"), backoff_base=1, backoff_cap=10, rng=random.Random(1)
    )
    delays = [client.backoff(attempt) for attempt in range(1, 8)]
    for attempt, delay in enumerate(delays, start=1):
        exponential = min(10, 2 ** (attempt - 1))
        assert 0.7 * exponential <= delay <= min(10, 1.3 * exponential)
    assert len(set(delays[:3])) == 3
    assert client.backoff(1, hint=45) == 45


def test_client_module_is_the_only_importer_of_requests_for_jira():
    import pathlib

    root = pathlib.Path(jira_client.__file__).resolve().parents[1]
    offenders = [
        str(path.relative_to(root))
        for package in ("connect", "incidents", "portal")
        for path in (root / package).rglob("*.py")
        if "import requests" in path.read_text()
        and path.name not in ("client.py", "install_keys.py")
    ]
    assert offenders == []
