"""The descriptor: valid against the schema, built from settings, pointing at live URLs."""

from pathlib import Path

import jsonschema
import pytest
from django.contrib.staticfiles import finders
from django.urls import resolve

from connect.descriptor import build_descriptor

from .descriptor_schema import DESCRIPTOR
from .support import BASE_URL


def test_descriptor_is_valid_against_the_schema():
    jsonschema.validate(build_descriptor(), DESCRIPTOR)


def test_descriptor_is_served_as_json(client):
    response = client.get("/atlassian-connect.json")
    assert response.status_code == 200
    assert response.json() == build_descriptor()


def test_descriptor_refuses_post(client):
    response = client.post("/atlassian-connect.json")
    assert response.status_code == 405
    assert response.json()["error"] == "method_not_allowed"
    assert response["Allow"] == "GET, HEAD"


def test_schema_rejects_a_bad_module_key():
    descriptor = build_descriptor()
    descriptor["modules"]["jiraOperationsInfoProvider"]["key"] = "bad key!"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(descriptor, DESCRIPTOR)


def test_security_relevant_fields():
    descriptor = build_descriptor()
    assert descriptor["authentication"] == {"type": "jwt"}
    assert descriptor["scopes"] == ["READ", "WRITE", "DELETE"]
    assert descriptor["apiMigrations"] == {
        "signed-install": True,
        "context-qsh": True,
        "gdpr": True,
    }
    assert descriptor["baseUrl"] == BASE_URL


def test_values_come_from_settings(settings):
    settings.CONNECT_APP_KEY = "com.acme.ops"
    settings.CONNECT_APP_NAME = "Acme Ops"
    settings.CONNECT_MODULE_KEY = "acme-ops"
    settings.CONNECT_BASE_URL = "https://ops.acme.test"
    descriptor = build_descriptor()
    module = descriptor["modules"]["jiraOperationsInfoProvider"]
    assert (descriptor["key"], descriptor["name"]) == ("com.acme.ops", "Acme Ops")
    assert (module["key"], module["name"]) == ("acme-ops", {"value": "Acme Ops"})
    assert module["actions"]["fetchWorkspaces"]["templateUrl"].startswith("https://ops.acme.test/")


def test_lifecycle_paths_resolve_to_the_callbacks():
    for event, path in build_descriptor()["lifecycle"].items():
        match = resolve(path)
        assert match.url_name == f"connect-{event}"


@pytest.mark.parametrize(
    ("action", "url_name", "path"),
    [
        ("fetchWorkspaces", "operations-fetch-workspaces", "/jira/operations/workspaces"),
        ("searchContainers", "operations-search-containers", "/jira/operations/containers/search"),
        (
            "onEntityAssociated",
            "operations-entity-associated",
            "/jira/operations/containers/associated",
        ),
        (
            "onEntityDisassociated",
            "operations-entity-disassociated",
            "/jira/operations/containers/disassociated",
        ),
    ],
)
def test_action_urls_are_absolute_under_the_base_url(action, url_name, path):
    url = build_descriptor()["modules"]["jiraOperationsInfoProvider"]["actions"][action][
        "templateUrl"
    ]
    assert url == BASE_URL + path
    assert resolve(path).url_name == url_name


def test_logo_is_a_static_svg():
    logo = build_descriptor()["modules"]["jiraOperationsInfoProvider"]["logoUrl"]
    assert logo == BASE_URL + "/static/connect/logo.svg"
    found = finders.find("connect/logo.svg")
    assert found and Path(found).read_text().lstrip().startswith("<svg")


def test_base_url_with_a_path_prefix_keeps_it_in_absolute_urls(settings):
    settings.CONNECT_BASE_URL = "https://example.com/ops"
    descriptor = build_descriptor()
    module = descriptor["modules"]["jiraOperationsInfoProvider"]
    assert descriptor["baseUrl"] == "https://example.com/ops"
    assert descriptor["lifecycle"]["installed"] == "/connect/installed"
    assert module["actions"]["searchContainers"]["templateUrl"] == (
        "https://example.com/ops/jira/operations/containers/search"
    )
    jsonschema.validate(descriptor, DESCRIPTOR)
