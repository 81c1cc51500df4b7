"""updateSequenceNumber: strictly increasing on every change, computed by the database."""

import itertools
from unittest import mock

import pytest

from incidents.models import Incident, IncidentAssociation, PostIncidentReview, ReviewAssociation
from incidents.models.sequence import now_epoch_millis

from .factories import make_container, make_incident, make_review

pytestmark = pytest.mark.django_db

FROZEN_MS = 1_700_000_000_000


def usn(obj) -> int:
    return type(obj).objects.values_list("update_sequence_number", flat=True).get(pk=obj.pk)


@pytest.fixture
def frozen_clock():
    """Every save happens in the same millisecond."""
    with mock.patch("incidents.models.sequence.now_epoch_millis", return_value=FROZEN_MS):
        yield


def test_a_new_incident_starts_at_the_current_epoch_millis():
    before = now_epoch_millis()
    incident = make_incident()
    assert before <= incident.update_sequence_number <= now_epoch_millis()


def test_every_save_increases_the_number_and_the_instance_sees_it():
    incident = make_incident()
    seen = [incident.update_sequence_number]
    for n in range(5):
        incident.summary = f"edit {n}"
        incident.save()
        assert incident.update_sequence_number == usn(incident)
        seen.append(incident.update_sequence_number)
    assert seen == sorted(set(seen))


def test_two_saves_in_the_same_millisecond_still_increase(frozen_clock):
    incident = make_incident()
    first = usn(incident)
    incident.save()
    second = usn(incident)
    incident.save()
    assert first < second < usn(incident)


def test_a_stale_instance_cannot_write_an_old_number_back(frozen_clock):
    incident = make_incident()
    stale = Incident.objects.get(pk=incident.pk)
    incident.save()
    incident.save()
    newest = usn(incident)
    stale.summary = "saved from an old copy"
    stale.save()
    assert stale.update_sequence_number == usn(stale) == newest + 1


def test_the_clock_wins_when_it_is_ahead():
    incident = make_incident()
    ahead = usn(incident) + 10_000
    with mock.patch("incidents.models.sequence.now_epoch_millis", return_value=ahead):
        incident.save()
    assert incident.update_sequence_number == usn(incident) == ahead


def test_save_with_update_fields_also_bumps_and_touches_last_updated(frozen_clock):
    incident = make_incident()
    before, last_updated = usn(incident), incident.last_updated
    incident.status = Incident.Status.RESOLVED
    incident.save(update_fields=["status"])
    incident.refresh_from_db()
    assert incident.update_sequence_number == before + 1
    assert incident.last_updated > last_updated


def test_bulk_update_bumps_every_row_and_last_updated(frozen_clock):
    incidents = [make_incident() for _ in range(3)]
    before = {i.pk: usn(i) for i in incidents}
    Incident.objects.filter(pk__in=before).update(status=Incident.Status.RESOLVED)
    for incident in incidents:
        assert usn(incident) == before[incident.pk] + 1
        incident.refresh_from_db()
        assert incident.last_updated > incident.created_date


def test_bulk_update_method_bumps_too(frozen_clock):
    incident = make_incident()
    before = usn(incident)
    incident.summary = "via bulk_update"
    Incident.objects.bulk_update([incident], ["summary"])
    assert usn(incident) == before + 1


def test_bump_sequence_refreshes_the_instance(frozen_clock):
    incident = make_incident()
    before = incident.update_sequence_number
    incident.bump_sequence()
    assert incident.update_sequence_number == before + 1 == usn(incident)


def test_adding_an_affected_container_bumps_the_incident(frozen_clock):
    incident = make_incident()
    before = usn(incident)
    incident.affected_containers.add(make_container(incident.workspace))
    assert incident.update_sequence_number == usn(incident) == before + 1


def test_removing_and_clearing_affected_containers_bump_the_incident(frozen_clock):
    incident = make_incident()
    extra = make_container(incident.workspace)
    incident.affected_containers.add(extra)
    before = usn(incident)
    incident.affected_containers.remove(extra)
    assert usn(incident) == before + 1
    incident.affected_containers.clear()
    assert usn(incident) == before + 2


def test_setting_the_same_containers_again_does_not_bump(frozen_clock):
    incident = make_incident()
    before = usn(incident)
    incident.affected_containers.set(list(incident.affected_containers.all()))
    assert usn(incident) == before


def test_changes_from_the_container_side_bump_the_incidents(frozen_clock):
    incident = make_incident()
    container = make_container(incident.workspace)
    before = usn(incident)
    container.incidents.add(incident)
    assert usn(incident) == before + 1
    container.incidents.remove(incident)
    assert usn(incident) == before + 2
    container.incidents.add(incident)
    container.incidents.clear()
    assert usn(incident) == before + 4


def test_deleting_an_affected_container_bumps_the_incident(frozen_clock):
    incident = make_incident()
    extra = make_container(incident.workspace)
    incident.affected_containers.add(extra)
    before = usn(incident)
    extra.delete()
    assert usn(incident) == before + 1


def test_association_added_changed_or_deleted_bumps_the_incident(frozen_clock):
    incident = make_incident()
    before = usn(incident)
    association = IncidentAssociation.objects.create(incident=incident, value="OPS-1")
    association.value = "OPS-2"
    association.save()
    association.delete()
    assert usn(incident) == before + 3


def test_deleting_an_incident_with_associations_needs_no_bump():
    incident = make_incident()
    IncidentAssociation.objects.create(incident=incident, value="OPS-1")
    incident.delete()
    assert not Incident.objects.exists()


def test_review_changes_bump_the_review(frozen_clock):
    review = make_review()
    before = usn(review)
    review.summary = "edited"
    review.save()
    review.incidents.add(make_incident(workspace=review.workspace))
    ReviewAssociation.objects.create(review=review, value="OPS-9")
    assert usn(review) == before + 3


def test_reviewed_incident_changes_from_the_incident_side_bump_the_review(frozen_clock):
    review = make_review()
    incident = make_incident(workspace=review.workspace)
    before = usn(review)
    incident.reviews.add(review)
    assert usn(review) == before + 1
    incident.delete()
    assert usn(review) == before + 2


def test_bulk_update_of_reviews_bumps(frozen_clock):
    review = make_review()
    before = usn(review)
    PostIncidentReview.objects.filter(pk=review.pk).update(status="completed")
    assert usn(review) == before + 1


def test_many_same_millisecond_edits_stay_strictly_increasing(frozen_clock):
    incident = make_incident()
    seen = []
    for n in range(50):
        if n % 3 == 0:
            incident.save()
        elif n % 3 == 1:
            Incident.objects.filter(pk=incident.pk).update(summary=f"s{n}")
        else:
            incident.bump_sequence()
        seen.append(usn(incident))
    assert all(a < b for a, b in itertools.pairwise(seen))
