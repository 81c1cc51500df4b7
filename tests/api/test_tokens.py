"""Integration tokens: 256 random bits shown once, stored as a hash, compared in constant time;
a missing, unknown or revoked token is a 401 with `WWW-Authenticate: Bearer`."""

import base64
from unittest import mock

import pytest

from incidents.models import Incident, Integration
from incidents.models.integrations import hash_token

from .conftest import TokenClient, make_integration

ENDPOINTS = [
    ("get", "/api/v1/incidents/"),
    ("post", "/api/v1/incidents/"),
    ("get", "/api/v1/incidents/INC-1/"),
    ("post", "/api/v1/hooks/alertmanager/"),
    ("post", "/api/v1/hooks/grafana/"),
    ("post", "/api/v1/hooks/generic/"),
]


def call(api: TokenClient, method: str, path: str):
    if method == "get":
        return api.get(path)
    return api.post(path, {"summary": "x", "status": "firing", "dedup_key": "k"})


def assert_401(response, code: str) -> None:
    assert response.status_code == 401, response.content
    assert response.headers["WWW-Authenticate"].startswith("Bearer ")
    assert response.json()["error"] == code


def test_token_has_256_bits_and_only_its_hash_is_stored(workspace):
    integration, token = make_integration(workspace)
    assert len(base64.urlsafe_b64decode(token + "=")) == 32
    stored = Integration.objects.get(pk=integration.pk)
    assert stored.token_hash == hash_token(token) != token
    row = Integration.objects.values().get(pk=integration.pk)
    assert token not in {str(value) for value in row.values()}
    assert stored.token_hint == token[:6]


def test_two_integrations_never_share_a_token(workspace):
    tokens = {make_integration(workspace, f"n{n}")[1] for n in range(20)}
    assert len(tokens) == 20


@pytest.mark.parametrize(("method", "path"), ENDPOINTS)
def test_missing_token_is_401_with_bearer_challenge(client, db, method, path):
    assert_401(call(TokenClient(client, None), method, path), "not_authenticated")


@pytest.mark.parametrize(("method", "path"), ENDPOINTS)
def test_unknown_token_is_401(client, db, method, path):
    assert_401(call(TokenClient(client, "not-a-token"), method, path), "invalid_token")


@pytest.mark.parametrize(("method", "path"), ENDPOINTS)
def test_revoked_token_is_401_and_changes_nothing(client, integration, method, path):
    record, token = integration
    assert record.revoke()
    assert_401(call(TokenClient(client, token), method, path), "invalid_token")
    assert not Incident.objects.exists()
    assert not record.deliveries.exists()


def test_other_scheme_is_401(client, integration):
    response = client.get(
        "/api/v1/incidents/", headers={"Authorization": f"Token {integration[1]}"}
    )
    assert_401(response, "invalid_token")


def test_token_is_compared_in_constant_time(api, integration):
    with mock.patch(
        "incidents.models.integrations.hmac.compare_digest", wraps=__import__("hmac").compare_digest
    ) as compare:
        assert api.get("/api/v1/incidents/").status_code == 200
    compare.assert_called_once_with(integration[0].token_hash, hash_token(integration[1]))


def test_use_stamps_last_used_time(api, integration):
    record = integration[0]
    assert record.last_used_at is None
    assert api.get("/api/v1/incidents/").status_code == 200
    record.refresh_from_db()
    assert record.last_used_at is not None
    first = record.last_used_at
    api.get("/api/v1/incidents/")
    record.refresh_from_db()
    assert record.last_used_at == first  # written at most once a minute


def test_kind_does_not_restrict_endpoints(client, workspace):
    _, token = make_integration(workspace, "script", kind=Integration.Kind.API)
    api = TokenClient(client, token)
    response = api.post(
        "/api/v1/hooks/generic/", {"dedup_key": "k", "status": "firing", "summary": "Disk full"}
    )
    assert response.status_code == 202
