import pytest
from django.core.exceptions import ValidationError

from incidents.models import Incident

from .factories import make_container, make_incident, make_workspace

pytestmark = pytest.mark.django_db


def field_errors(instance) -> dict[str, list[str]]:
    with pytest.raises(ValidationError) as caught:
        instance.full_clean()
    return caught.value.message_dict


def relation_errors(instance) -> dict[str, list[str]]:
    with pytest.raises(ValidationError) as caught:
        instance.full_clean_relations()
    return caught.value.message_dict


def test_a_valid_incident_passes_both_checks():
    incident = make_incident(severity="P2", description="# Down\n\nAll *bad*.")
    incident.full_clean()
    incident.full_clean_relations()


def test_summary_over_255_characters_is_refused_with_its_length():
    incident = make_incident()
    incident.summary = "s" * 256
    assert field_errors(incident)["summary"] == [
        "Ensure this value has at most 255 characters (it has 256)."
    ]


def test_summary_of_exactly_255_unicode_characters_is_accepted():
    incident = make_incident()
    incident.summary = "🔥" * 255
    incident.full_clean()


def test_empty_summary_is_refused():
    incident = make_incident()
    incident.summary = ""
    assert "summary" in field_errors(incident)


def test_description_over_5000_characters_is_refused_with_its_length():
    incident = make_incident()
    incident.description = "d" * 5001
    assert field_errors(incident)["description"] == [
        "Ensure this value has at most 5000 characters (it has 5001)."
    ]


def test_description_of_5000_characters_is_accepted():
    incident = make_incident()
    incident.description = "é" * 5000
    incident.full_clean()


@pytest.mark.parametrize("bad", ["inc 1", "inc/1", "..", ".", "inc?1", "inc#1", "inc%201", "ü1"])
def test_incident_id_unsafe_in_a_jira_url_is_refused(bad):
    incident = make_incident()
    incident.external_id = bad
    message = field_errors(incident)["external_id"][0]
    assert "goes into Jira URLs" in message


def test_incident_id_over_255_characters_is_refused():
    incident = make_incident()
    incident.external_id = "i" * 256
    assert "at most 255 characters (it has 256)" in field_errors(incident)["external_id"][0]


def test_incident_ids_are_unique():
    make_incident(external_id="INC-1")
    incident = Incident(
        external_id="INC-1", workspace=make_workspace(), summary="s", url="https://x.example"
    )
    assert "external_id" in field_errors(incident)


@pytest.mark.parametrize("bad", ["", "example.com/incident", "ftp://x.example/i", "http://"])
def test_incident_url_must_be_a_web_address(bad):
    incident = make_incident()
    incident.url = bad
    assert "url" in field_errors(incident)


def test_incident_url_over_2000_characters_is_refused():
    incident = make_incident()
    incident.url = "https://ops.example.com/" + "u" * 1977
    assert "at most 2000 characters (it has 2001)" in " ".join(field_errors(incident)["url"])


@pytest.mark.parametrize(
    "field, bad", [("severity", "P0"), ("severity", "p1"), ("status", "closed")]
)
def test_severity_and_status_outside_jiras_enums_are_refused(field, bad):
    incident = make_incident()
    setattr(incident, field, bad)
    assert field in field_errors(incident)


def test_empty_severity_means_not_sent_and_is_valid():
    incident = make_incident(severity="")
    incident.full_clean()


def test_incident_without_affected_containers_is_refused():
    incident = make_incident()
    incident.affected_containers.clear()
    assert relation_errors(incident)["affected_containers"] == [
        "Select at least 1 affected container: Jira needs 1 to 100, and none is selected."
    ]


def test_unsaved_incident_has_no_affected_containers():
    incident = Incident(workspace=make_workspace(), external_id="x", summary="s")
    assert "affected_containers" in relation_errors(incident)


def test_incident_with_100_affected_containers_is_accepted():
    workspace = make_workspace()
    containers = [make_container(workspace) for _ in range(100)]
    make_incident(workspace=workspace, containers=containers).full_clean_relations()


def test_incident_with_101_affected_containers_is_refused():
    workspace = make_workspace()
    containers = [make_container(workspace) for _ in range(101)]
    incident = make_incident(workspace=workspace, containers=containers)
    assert relation_errors(incident)["affected_containers"] == [
        "Select at most 100 affected containers: Jira accepts 1 to 100, and 101 are selected."
    ]


def test_container_of_another_workspace_is_refused_by_name():
    home = make_workspace(name="Payments")
    stranger = make_container(make_workspace(name="Web"), name="Checkout", external_id="checkout")
    incident = make_incident(workspace=home, containers=[make_container(home), stranger])
    message = relation_errors(incident)["affected_containers"][0]
    assert "Only containers of workspace “Payments”" in message
    assert "Checkout [checkout] is in “Web”" in message


def test_the_same_rule_checks_unsaved_selections():
    workspace = make_workspace()
    with pytest.raises(ValidationError) as caught:
        Incident.validate_related(workspace, [])
    assert "affected_containers" in caught.value.message_dict
    Incident.validate_related(workspace, [make_container(workspace)])
