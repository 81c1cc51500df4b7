"""A review's action items, and its status following them unless staff chose it."""

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from incidents.models import PostIncidentReview, ReviewActionItem, SyncState
from tests.incidents.factories import make_installation, make_review, make_workspace

pytestmark = pytest.mark.django_db

Status = PostIncidentReview.Status


def test_an_open_action_item_makes_the_review_outstanding_and_tells_jira():
    workspace = make_workspace()
    workspace.link_site(make_installation())
    review = make_review(workspace=workspace)
    SyncState.objects.filter(external_id=review.external_id).update(pending=False)
    before = review.update_sequence_number
    ReviewActionItem.objects.create(review=review, what="Add a retry budget")
    review.refresh_from_db()
    assert review.status == Status.OUTSTANDING_ACTIONS
    assert review.update_sequence_number > before
    assert SyncState.objects.get(external_id=review.external_id).pending


def test_the_review_is_completed_when_every_action_item_is_done():
    review = make_review()
    first = ReviewActionItem.objects.create(review=review, what="Add a retry budget")
    second = ReviewActionItem.objects.create(review=review, what="Alert on queue depth")
    first.done = True
    first.save()
    review.refresh_from_db()
    assert review.status == Status.OUTSTANDING_ACTIONS
    second.done = True
    second.save()
    review.refresh_from_db()
    assert review.status == Status.COMPLETED
    assert second.done_at is not None


def test_reopening_an_item_makes_the_review_outstanding_again():
    review = make_review()
    item = ReviewActionItem.objects.create(review=review, what="Runbook", done=True)
    review.refresh_from_db()
    assert review.status == Status.COMPLETED
    item.done = False
    item.save()
    review.refresh_from_db()
    assert (review.status, item.done_at) == (Status.OUTSTANDING_ACTIONS, None)


def test_deleting_the_last_open_item_completes_the_review():
    review = make_review()
    ReviewActionItem.objects.create(review=review, what="Runbook", done=True)
    open_item = ReviewActionItem.objects.create(review=review, what="Dashboards")
    open_item.delete()
    review.refresh_from_db()
    assert review.status == Status.COMPLETED


def test_a_status_set_by_staff_is_left_alone():
    review = make_review(status=Status.IN_PROGRESS, status_follows_actions=False)
    ReviewActionItem.objects.create(review=review, what="Runbook")
    review.refresh_from_db()
    assert review.status == Status.IN_PROGRESS


def test_a_review_without_action_items_keeps_its_status():
    review = make_review(status=Status.IN_PROGRESS)
    assert review.follow_action_items() is False
    review.refresh_from_db()
    assert review.status == Status.IN_PROGRESS


def test_issue_keys_are_upper_cased_and_validated_like_associations():
    review = make_review()
    item = ReviewActionItem(review=review, what="Runbook", issue_key=" ops-12 ")
    item.full_clean()
    assert item.issue_key == "OPS-12"
    bad = ReviewActionItem(review=review, what="Runbook", issue_key="not a key")
    with pytest.raises(ValidationError) as refused:
        bad.full_clean()
    assert "issue_key" in refused.value.message_dict


def _review_post(review, **overrides) -> dict:
    data = {
        "summary": review.summary,
        "status": review.status,
        "url": review.url,
        "incidents": [str(i.pk) for i in review.incidents.all()],
        "description": "",
        "status_follows_actions": "on",
        "associations-TOTAL_FORMS": "0",
        "associations-INITIAL_FORMS": "0",
        "action_items-TOTAL_FORMS": "0",
        "action_items-INITIAL_FORMS": "0",
    }
    data.update(overrides)
    return {key: value for key, value in data.items() if value is not None}


def test_choosing_a_status_by_hand_in_the_admin_stops_it_following(admin_client):
    review = make_review()
    ReviewActionItem.objects.create(review=review, what="Runbook")
    review.refresh_from_db()
    change = reverse("admin:incidents_postincidentreview_change", args=[review.pk])
    response = admin_client.post(change, _review_post(review, status=Status.IN_PROGRESS))
    assert response.status_code == 302
    review.refresh_from_db()
    assert (review.status, review.status_follows_actions) == (Status.IN_PROGRESS, False)


def test_action_items_added_in_the_admin_drive_the_status(admin_client, admin_user):
    review = make_review()
    change = reverse("admin:incidents_postincidentreview_change", args=[review.pk])
    rows = {
        "action_items-TOTAL_FORMS": "2",
        "action_items-0-what": "Runbook",
        "action_items-0-owner": str(admin_user.pk),
        "action_items-0-issue_key": "ops-3",
        "action_items-0-done": "on",
        "action_items-1-what": "Dashboards",
        "action_items-1-due_date": "2026-12-01",
    }
    response = admin_client.post(change, _review_post(review, **rows))
    assert response.status_code == 302
    review.refresh_from_db()
    assert review.status == Status.OUTSTANDING_ACTIONS
    assert sorted(review.action_items.values_list("issue_key", flat=True)) == ["", "OPS-3"]


def test_a_bad_issue_key_in_the_admin_is_refused_and_nothing_is_saved(admin_client):
    review = make_review()
    change = reverse("admin:incidents_postincidentreview_change", args=[review.pk])
    rows = {
        "action_items-TOTAL_FORMS": "1",
        "action_items-0-what": "Runbook",
        "action_items-0-issue_key": "ops 3",
    }
    response = admin_client.post(change, _review_post(review, **rows))
    assert response.status_code == 200
    formset = next(
        f.formset
        for f in response.context["inline_admin_formsets"]
        if f.formset.prefix == "action_items"
    )
    assert "issue_key" in formset.errors[0]
    assert not ReviewActionItem.objects.exists()
