import pytest
from django.core.exceptions import ValidationError

from incidents.models import AssociationType, IncidentAssociation, ReviewAssociation

from .factories import make_incident, make_review

pytestmark = pytest.mark.django_db


def association(value, kind=AssociationType.ISSUE):
    return IncidentAssociation(incident=make_incident(), association_type=kind, value=value)


@pytest.mark.parametrize("value", ["OPS-1", "AB_2-99", "10042"])
def test_issue_keys_and_ids_are_accepted(value):
    association(value).full_clean()


def test_issue_keys_are_normalised_to_upper_case():
    item = association("  ops-12 ")
    item.full_clean()
    assert item.value == "OPS-12"


@pytest.mark.parametrize("value", ["OPS", "OPS-0", "1OPS-2", "OPS 1", "OPS-1,OPS-2", "-1"])
def test_values_that_are_not_issue_keys_are_refused(value):
    with pytest.raises(ValidationError) as caught:
        association(value).full_clean()
    assert "Jira issue key" in caught.value.message_dict["value"][0]


@pytest.mark.parametrize("value", ["svc-123", "ari:cloud:graph::service/abc/def", "b:xyz="])
def test_service_ids_are_accepted(value):
    association(value, AssociationType.SERVICE).full_clean()


@pytest.mark.parametrize("value", ["two words", "a,b"])
def test_service_ids_with_spaces_or_commas_are_refused(value):
    with pytest.raises(ValidationError) as caught:
        association(value, AssociationType.SERVICE).full_clean()
    assert "no spaces or commas" in caught.value.message_dict["value"][0]


def test_value_over_255_characters_gets_only_the_length_message():
    with pytest.raises(ValidationError) as caught:
        association("9" * 256).full_clean()
    assert caught.value.message_dict["value"] == [
        "Ensure this value has at most 255 characters (it has 256)."
    ]


def test_the_same_association_twice_is_refused():
    incident = make_incident()
    IncidentAssociation.objects.create(incident=incident, value="OPS-1")
    duplicate = IncidentAssociation(incident=incident, value="OPS-1")
    with pytest.raises(ValidationError):
        duplicate.full_clean()


def test_compass_event_sources_are_not_offered():
    item = association("x", "ati:cloud:compass:event-source")
    with pytest.raises(ValidationError) as caught:
        item.full_clean()
    assert "association_type" in caught.value.message_dict


def test_more_than_100_associations_are_refused_on_incidents_and_reviews():
    incident = make_incident()
    IncidentAssociation.objects.bulk_create(
        IncidentAssociation(incident=incident, value=f"OPS-{n}") for n in range(1, 102)
    )
    with pytest.raises(ValidationError) as caught:
        incident.full_clean_relations()
    assert (
        "at most 100 associated issues and services (this has 101)"
        in (caught.value.message_dict["associations"][0])
    )
    review = make_review()
    ReviewAssociation.objects.bulk_create(
        ReviewAssociation(review=review, value=f"OPS-{n}") for n in range(1, 101)
    )
    review.full_clean_relations()
