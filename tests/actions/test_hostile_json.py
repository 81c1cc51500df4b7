"""Hostile JSON on every action Jira calls, sent with a genuine token: too deep, non-standard
or carrying control characters, each body is a 400 `parse_error` that says why, never a 500."""

import json

import pytest

from connect.json_bodies import MAX_DEPTH
from incidents.models import EntityAssociation

from .support import ASSOCIATED, DISASSOCIATED, FETCH, call

pytestmark = pytest.mark.django_db

ASSOCIATION = {
    "entity": {"ari": "ari:cloud:jira:cloud-alpha:operations-component/payments-db"},
    "associatedWith": {"ari": "ari:cloud:jira:cloud-alpha:project/10001", "id": "10001"},
}
#: Under the 64 KiB body limit, far deeper than Python's recursion limit.
BOMB = "[" * 30_000 + "]" * 30_000


@pytest.mark.parametrize(
    ("method", "url_name"),
    [("POST", FETCH), ("PUT", ASSOCIATED), ("POST", ASSOCIATED), ("PUT", DISASSOCIATED)],
)
@pytest.mark.parametrize(
    ("raw", "why"),
    [
        (BOMB, "nests deeper"),
        ('{"ids": ' + "[" * (MAX_DEPTH + 1) + "]" * (MAX_DEPTH + 1) + "}", "nests deeper"),
        ('{"ids": ["ws-a\\u0000"]}', "control character"),
        ('{"ids": ["ws-a"], "x\\u001b": 1}', "control character"),
        ('{"ids": ["ws-a"], "ids": ["ws-b"]}', "appears twice"),
        ('{"ids": ["ws-a"], "n": NaN}', "NaN"),
        ('{"ids": ["ws-a"], "n": -Infinity}', "Infinity"),
    ],
)
def test_hostile_body_is_a_400_parse_error(client, world, method, url_name, raw, why):
    response = call(client, world["a"], method, url_name, raw_body=raw)
    assert response.status_code == 400
    assert response.json()["error"] == "parse_error"
    assert why in response.json()["detail"]


def test_a_nul_in_an_association_stores_nothing(client, world):
    body = json.loads(json.dumps(ASSOCIATION))
    body["associatedWith"]["id"] = "10001\u0000"
    response = call(client, world["a"], "PUT", ASSOCIATED, body=body)
    assert (response.status_code, response.json()["error"]) == (400, "parse_error")
    assert not EntityAssociation.objects.exists()


def test_tabs_and_newlines_are_still_text(client, world):
    response = call(
        client, world["a"], "POST", FETCH, raw_body='{"ids": ["ws-a"], "note": "a\\tb\\n"}'
    )
    assert response.status_code == 200
