"""The actions accept only a Connect JWT of an active site bound to this very request."""

import pytest
from django.urls import reverse

from connect.models import Installation
from incidents.models.associations import EntityAssociation

from .support import ASSOCIATED, DISASSOCIATED, FETCH, SEARCH, call, token_for

pytestmark = pytest.mark.django_db

ALL_ACTIONS = [("POST", FETCH), ("GET", SEARCH), ("PUT", ASSOCIATED), ("PUT", DISASSOCIATED)]
ASSOCIATION = {
    "entity": {"id": "payments-db"},
    "associatedWith": {"ari": "ari:cloud:jira:cloud-alpha:project/1"},
}


@pytest.mark.parametrize(("method", "name"), ALL_ACTIONS)
def test_every_action_needs_a_token(client, world, method, name):
    response = call(client, None, method, name, body={})
    assert response.status_code == 401
    assert response.json()["error"] == "not_authenticated"


@pytest.mark.parametrize(("method", "name"), ALL_ACTIONS)
def test_token_signed_with_another_sites_secret_is_refused(client, world, method, name):
    path = reverse(name)
    forged = token_for(world["a"], method, path, secret=world["b"].shared_secret)
    response = call(client, world["a"], method, name, body={}, token=forged)
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_signature"


def test_token_for_another_query_is_refused(client, world):
    path = reverse(SEARCH)
    token = token_for(world["a"], "GET", path, "searchQuery=cache")
    response = call(client, world["a"], "GET", SEARCH, query="searchQuery=payments", token=token)
    assert response.status_code == 401
    assert response.json()["error"] == "qsh_mismatch"


def test_token_for_another_action_is_refused(client, world):
    token = token_for(world["a"], "POST", reverse(FETCH))
    response = call(client, world["a"], "PUT", ASSOCIATED, body=ASSOCIATION, token=token)
    assert response.status_code == 401
    assert response.json()["error"] == "qsh_mismatch"
    assert not EntityAssociation.objects.exists()


def test_token_for_another_method_is_refused(client, world):
    token = token_for(world["a"], "POST", reverse(ASSOCIATED))
    response = call(client, world["a"], "PUT", ASSOCIATED, body=ASSOCIATION, token=token)
    assert response.status_code == 401
    assert response.json()["error"] == "qsh_mismatch"


def test_context_token_is_refused(client, world):
    token = token_for(world["a"], "GET", reverse(SEARCH), qsh="context-qsh")
    response = call(client, world["a"], "GET", SEARCH, token=token)
    assert response.json()["error"] == "context_qsh_refused"


def test_expired_token_is_refused(client, world):
    token = token_for(world["a"], "GET", reverse(SEARCH), iat=1_600_000_000, exp=1_600_000_180)
    response = call(client, world["a"], "GET", SEARCH, token=token)
    assert response.status_code == 401
    assert response.json()["error"] == "token_expired"


@pytest.mark.parametrize(
    "change", [{"state": Installation.State.UNINSTALLED}, {"enabled": False}], ids=str
)
def test_inactive_sites_token_is_refused(client, world, change):
    Installation.objects.filter(pk=world["a"].pk).update(**change)
    response = call(client, world["a"], "POST", FETCH, body={"ids": ["ws-a"]})
    assert response.status_code == 401
    assert response.json()["error"] == "inactive_installation"


def test_qsh_covers_repeated_ids_in_any_order(client, world):
    token = token_for(world["a"], "POST", reverse(FETCH), "ids=ws-shared&ids=ws-a")
    response = call(client, world["a"], "POST", FETCH, query="ids=ws-a&ids=ws-shared", token=token)
    assert response.status_code == 200
    assert len(response.json()["workspaces"]) == 2


def test_the_site_comes_from_the_token_not_the_body(client, world):
    body = {
        "entity": {"id": "secret-b", "ari": "ari:cloud:jira:cloud-beta:operations-container/x"},
        "associatedWith": {"ari": "ari:cloud:jira:cloud-beta:project/1", "cloudId": "cloud-beta"},
    }
    response = call(client, world["a"], "PUT", ASSOCIATED, body=body)
    assert response.status_code == 404
    assert response.json()["error"] == "not_found"
    assert not EntityAssociation.objects.exists()
