"""Staff see Jira's associations in the admin, read-only: a list and the container's page."""

import pytest
from django.urls import reverse

from incidents.models.associations import EntityAssociation
from incidents.provider.rules import JiraTarget, record_association

pytestmark = pytest.mark.django_db

USER = "557058:f58131cb-b67d-43c7-b30d-6b58d40bd077"


@pytest.fixture
def association(world):
    row, _ = record_association(
        world["a"],
        entity_id="payments-db",
        target=JiraTarget(
            ari="ari:cloud:jira:cloud-alpha:project/10001", ati="ati:cloud:jira:project"
        ),
        account_id=USER,
    )
    return row


def test_ops_staff_see_the_association_list(ops_client, association):
    response = ops_client.get(reverse("admin:incidents_entityassociation_changelist"))
    assert response.status_code == 200
    page = response.content.decode()
    assert "payments-db" in page
    assert "ari:cloud:jira:cloud-alpha:project/10001" in page
    assert USER in page


def test_the_list_cannot_add_or_change(ops_client, association):
    assert ops_client.get(reverse("admin:incidents_entityassociation_add")).status_code == 403
    change = reverse("admin:incidents_entityassociation_change", args=[association.pk])
    before = EntityAssociation.objects.values().get()
    ops_client.post(change, {"target_ari": "ari:changed"})
    assert EntityAssociation.objects.values().get() == before
    delete = reverse("admin:incidents_entityassociation_delete", args=[association.pk])
    assert ops_client.post(delete, {"post": "yes"}).status_code == 403
    assert EntityAssociation.objects.exists()


def test_container_page_shows_its_jira_associations(ops_client, world, association):
    container = world["containers"]["payments-db"]
    response = ops_client.get(reverse("admin:incidents_container_change", args=[container.pk]))
    assert response.status_code == 200
    page = response.content.decode()
    assert "Connected in Jira" in page
    assert "ari:cloud:jira:cloud-alpha:project/10001" in page


def test_container_page_still_saves_with_the_inline(ops_client, world, association):
    container = world["containers"]["payments-db"]
    url = reverse("admin:incidents_container_change", args=[container.pk])
    form = ops_client.get(url).context["adminform"].form
    data = {name: value for name, value in form.initial.items() if value is not None}
    data.update({"name": "Payments DB renamed", "url": container.url, "avatar_url": ""})
    prefix = "jira_associations"
    data.update({f"{prefix}-TOTAL_FORMS": "1", f"{prefix}-INITIAL_FORMS": "1"})
    data.update({f"{prefix}-0-id": str(association.pk), f"{prefix}-0-container": str(container.pk)})
    response = ops_client.post(url, data)
    assert response.status_code == 302, response.context and response.context["errors"]
    container.refresh_from_db()
    assert container.name == "Payments DB renamed"
    assert EntityAssociation.objects.count() == 1
