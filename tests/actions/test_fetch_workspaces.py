"""fetchWorkspaces: POST {"ids": [...]} → the calling site's workspaces among them."""

import pytest

from incidents.provider.rules import FETCH_WORKSPACES_MAX_IDS, InvalidInput, fetch_workspaces

from .support import FETCH, call

pytestmark = pytest.mark.django_db


def ids_of(payload) -> list[str]:
    return [workspace["id"] for workspace in payload["workspaces"]]


def test_fetch_returns_the_requested_workspaces_in_jira_shape(world):
    assert fetch_workspaces(world["a"], ["ws-a"]) == [
        {
            "id": "ws-a",
            "name": "Workspace ws-a",
            "url": "https://ops.example.com/w/ws-a",
            "avatarUrl": "https://ops.example.com/a.png",
        }
    ]


def test_workspace_without_avatar_has_no_avatar_url(world):
    [workspace] = fetch_workspaces(world["a"], ["ws-shared"])
    assert "avatarUrl" not in workspace


def test_unknown_ids_are_omitted(world):
    assert [w["id"] for w in fetch_workspaces(world["a"], ["nope", "ws-a", "ws-x"])] == ["ws-a"]


def test_another_sites_workspace_is_omitted_like_an_unknown_one(world):
    assert fetch_workspaces(world["a"], ["ws-b"]) == []
    assert fetch_workspaces(world["a"], ["ws-unlinked"]) == []


def test_answer_follows_the_requested_order_once_per_id(world):
    answer = fetch_workspaces(world["a"], ["ws-shared", "ws-a", "ws-shared"])
    assert [w["id"] for w in answer] == ["ws-shared", "ws-a"]


def test_ids_no_workspace_could_have_are_omitted_without_a_query(world, django_assert_num_queries):
    with django_assert_num_queries(0):
        assert fetch_workspaces(world["a"], ["", "a b", "x\x00", "é", "\ud800", "w" * 300]) == []


def test_more_than_the_maximum_ids_is_refused(world):
    with pytest.raises(InvalidInput, match=str(FETCH_WORKSPACES_MAX_IDS)):
        fetch_workspaces(world["a"], ["ws-a"] * (FETCH_WORKSPACES_MAX_IDS + 1))


def test_exactly_the_maximum_ids_is_answered(world):
    ids = ["ws-a"] + [f"unknown-{n}" for n in range(FETCH_WORKSPACES_MAX_IDS - 1)]
    assert [w["id"] for w in fetch_workspaces(world["a"], ids)] == ["ws-a"]


# --- over HTTP, with a real Connect JWT -------------------------------------------------------


def test_post_with_ids_in_the_body(client, world):
    response = call(client, world["a"], "POST", FETCH, body={"ids": ["ws-a", "ws-b", "nope"]})
    assert response.status_code == 200
    assert ids_of(response.json()) == ["ws-a"]


def test_ids_as_a_repeated_query_parameter(client, world):
    response = call(
        client, world["a"], "POST", FETCH, params=[("ids", "ws-a"), ("ids", "ws-shared")]
    )
    assert response.status_code == 200
    assert ids_of(response.json()) == ["ws-a", "ws-shared"]


def test_ids_as_a_comma_separated_query_parameter(client, world):
    response = call(client, world["a"], "POST", FETCH, params={"ids": "ws-shared,ws-a,ws-b"})
    assert response.status_code == 200
    assert ids_of(response.json()) == ["ws-shared", "ws-a"]


def test_empty_ids_list_gives_no_workspaces(client, world):
    response = call(client, world["a"], "POST", FETCH, body={"ids": []})
    assert response.status_code == 200
    assert response.json() == {"workspaces": []}


def test_too_many_ids_is_a_400_with_a_reason(client, world):
    ids = [f"ws-{n}" for n in range(FETCH_WORKSPACES_MAX_IDS + 1)]
    response = call(client, world["a"], "POST", FETCH, body={"ids": ids})
    assert response.status_code == 400
    assert response.json()["error"] == "invalid"
    assert "ids" in response.json()["detail"]


def test_too_many_ids_in_the_query_is_a_400(client, world):
    ids = ",".join(f"ws-{n}" for n in range(FETCH_WORKSPACES_MAX_IDS + 1))
    response = call(client, world["a"], "POST", FETCH, params={"ids": ids})
    assert response.status_code == 400
    assert str(FETCH_WORKSPACES_MAX_IDS) in response.json()["detail"]


@pytest.mark.parametrize(
    "body",
    [
        {"ids": "ws-a"},
        {"ids": [1, 2]},
        {"ids": [None]},
        {"ids": [["ws-a"]]},
        {"ids": {"ws-a": True}},
        {"ids": None},
        {},
        {"workspaceIds": ["ws-a"]},
    ],
    ids=repr,
)
def test_wrong_types_or_missing_ids_are_a_400(client, world, body):
    response = call(client, world["a"], "POST", FETCH, body=body)
    assert response.status_code == 400
    assert response.json()["error"] == "invalid"


@pytest.mark.parametrize("raw", ["[1, 2]", '"ws-a"', "null", "42"])
def test_a_body_that_is_not_an_object_is_a_400(client, world, raw):
    response = call(client, world["a"], "POST", FETCH, raw_body=raw)
    assert response.status_code == 400
    assert response.json()["detail"] == "the body must be a JSON object"


@pytest.mark.parametrize("raw", ['{"ids": [', "{ids: 1}", "\xff\xfe", '{"ids": ["a"]} trailing'])
def test_malformed_json_is_a_400(client, world, raw):
    response = call(client, world["a"], "POST", FETCH, raw_body=raw)
    assert response.status_code == 400
    assert response.json()["error"] == "parse_error"


def test_a_body_over_the_size_limit_is_refused_before_parsing(client, world):
    raw = '{"ids": ["' + "a" * 70_000 + '"]}'
    response = call(client, world["a"], "POST", FETCH, raw_body=raw)
    assert response.status_code == 400
    assert "bytes" in response.json()["detail"]


def test_without_a_token_the_call_is_refused(client, world):
    response = call(client, None, "POST", FETCH, body={"ids": ["ws-a"]})
    assert response.status_code == 401
    assert response.json()["error"] == "not_authenticated"
    assert response["WWW-Authenticate"] == "JWT"
