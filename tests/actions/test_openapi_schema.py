"""The OpenAPI document at /api/schema/ describes exactly the four actions and their JWT, tagged
"Jira actions"; the REST API and webhooks it also holds are checked in tests/api/."""

import pytest

ACTION_PATHS = {
    "/jira/operations/workspaces": {"post"},
    "/jira/operations/containers/search": {"get"},
    "/jira/operations/containers/associated": {"put", "post"},
    "/jira/operations/containers/disassociated": {"put", "post"},
}


JIRA_TAG = "Jira actions"


@pytest.fixture
def full_document(client):
    response = client.get("/api/schema/?format=json")
    assert response.status_code == 200
    return response.json()


@pytest.fixture
def document(full_document):
    """The document with only the operations tagged as Jira's actions."""
    paths = {}
    for path, operations in full_document["paths"].items():
        mine = {m: op for m, op in operations.items() if op.get("tags") == [JIRA_TAG]}
        if mine:
            paths[path] = mine
    return {**full_document, "paths": paths}


def test_document_is_openapi_3(document):
    assert document["openapi"].startswith("3.")


def test_document_lists_the_four_actions_and_nothing_else(document):
    assert {path: set(ops) for path, ops in document["paths"].items()} == ACTION_PATHS


def test_only_jiras_actions_are_tagged_as_such(full_document):
    for path, operations in full_document["paths"].items():
        for operation in operations.values():
            assert (operation["tags"] == [JIRA_TAG]) == (path in ACTION_PATHS), path


def test_operation_ids_are_the_descriptor_action_names(document):
    ids = {op["operationId"] for ops in document["paths"].values() for op in ops.values()}
    assert ids >= {"fetchWorkspaces", "searchContainers", "onEntityAssociated"}
    assert "onEntityDisassociated" in ids


def test_every_operation_requires_the_connect_jwt(document):
    scheme = document["components"]["securitySchemes"]["connectJwt"]
    assert scheme == {**scheme, "type": "apiKey", "in": "header", "name": "Authorization"}
    for operations in document["paths"].values():
        for operation in operations.values():
            assert operation["security"] == [{"connectJwt": []}]


def test_request_and_response_shapes_are_documented(document):
    schemas = document["components"]["schemas"]
    assert schemas["FetchWorkspacesRequest"]["properties"]["ids"]["maxItems"] == 100
    assert set(schemas["ContainerResponse"]["required"]) == {"id", "name", "url", "lastUpdatedDate"}
    assert set(schemas["EntityAssociatedRequest"]["required"]) == {"entity", "associatedWith"}
    search = document["paths"]["/jira/operations/containers/search"]["get"]
    assert {p["name"] for p in search["parameters"]} == {"searchQuery", "workspaceId"}
    assert search["responses"]["200"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/SearchContainersResponse"
    }


def test_yaml_is_the_default_format(client):
    response = client.get("/api/schema/")
    assert response.status_code == 200
    assert response.content.startswith(b"openapi: 3.")
