"""The descriptor advertises createPostIncidentReview only when the setting asks for it."""

import pytest

from connect.descriptor import build_descriptor
from jirasim import descriptor as jira_descriptor


def actions() -> dict:
    return build_descriptor()["modules"]["jiraOperationsInfoProvider"]["actions"]


def test_off_by_default(settings):
    assert settings.CONNECT_ADVERTISE_CREATE_REVIEW is False
    assert "createPostIncidentReview" not in actions()


def test_the_four_actions_are_there_either_way(settings):
    expected = {
        "fetchWorkspaces",
        "searchContainers",
        "onEntityAssociated",
        "onEntityDisassociated",
    }
    assert set(actions()) == expected
    settings.CONNECT_ADVERTISE_CREATE_REVIEW = True
    assert set(actions()) == expected | {"createPostIncidentReview"}


def test_when_on_it_links_to_the_page_with_jiras_placeholders(settings):
    settings.CONNECT_ADVERTISE_CREATE_REVIEW = True
    assert actions()["createPostIncidentReview"] == {
        "url": "https://ops.example.com/reviews/create"
        "?incident-id={incident-id}&component-id={component-id}"
    }


@pytest.mark.parametrize(("advertise", "accepted"), [(False, True), (True, False)])
def test_why_it_is_off_by_default_a_schema_of_the_current_module_refuses_it(
    settings, advertise, accepted
):
    settings.CONNECT_ADVERTISE_CREATE_REVIEW = advertise
    try:
        jira_descriptor.check(build_descriptor())
    except jira_descriptor.DescriptorRejected:
        assert not accepted
    else:
        assert accepted
