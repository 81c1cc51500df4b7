import pytest
from django.core.exceptions import ValidationError

from incidents.models import PostIncidentReview

from .factories import make_incident, make_review, make_workspace

pytestmark = pytest.mark.django_db


def relation_errors(review) -> dict[str, list[str]]:
    with pytest.raises(ValidationError) as caught:
        review.full_clean_relations()
    return caught.value.message_dict


def test_a_valid_review_passes_both_checks():
    review = make_review(status="outstanding actions")
    review.full_clean()
    review.full_clean_relations()


def test_review_reviewing_no_incident_is_refused():
    review = make_review()
    review.incidents.clear()
    assert relation_errors(review)["incidents"] == [
        "Select at least 1 reviewed incident: Jira needs 1 to 100, and none is selected."
    ]


def test_review_of_101_incidents_is_refused():
    workspace = make_workspace()
    containers = make_incident(workspace=workspace).affected_containers.all()
    incidents = [make_incident(workspace=workspace, containers=containers) for _ in range(101)]
    review = make_review(incidents=incidents)
    assert "at most 100 reviewed incidents" in relation_errors(review)["incidents"][0]


def test_review_of_an_incident_of_another_workspace_is_refused():
    review = make_review()
    review.incidents.add(make_incident())
    assert "Only incidents of workspace" in relation_errors(review)["incidents"][0]


@pytest.mark.parametrize("bad", ["open", "done", "In progress"])
def test_review_status_outside_jiras_enum_is_refused(bad):
    review = make_review()
    review.status = bad
    with pytest.raises(ValidationError) as caught:
        review.full_clean()
    assert "status" in caught.value.message_dict


@pytest.mark.parametrize("status", [s.value for s in PostIncidentReview.Status])
def test_every_jira_review_status_is_accepted(status):
    review = make_review()
    review.status = status
    review.full_clean()


def test_review_limits_match_incident_limits():
    review = make_review()
    review.summary, review.description = "s" * 256, "d" * 5001
    review.url, review.external_id = "nope", "a b"
    with pytest.raises(ValidationError) as caught:
        review.full_clean()
    assert set(caught.value.message_dict) == {"summary", "description", "url", "external_id"}
