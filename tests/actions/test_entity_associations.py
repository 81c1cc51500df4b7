"""onEntityAssociated / onEntityDisassociated: recorded and removed idempotently, per site."""

import pytest

from incidents.models.associations import EntityAssociation, EntityKind
from incidents.provider.rules import (
    EntityNotFound,
    InvalidInput,
    JiraTarget,
    acting_account_id,
    record_association,
    remove_association,
)

from .support import ASSOCIATED, DISASSOCIATED, call, make_container

pytestmark = pytest.mark.django_db

USER = "557058:f58131cb-b67d-43c7-b30d-6b58d40bd077"
OTHER_USER = "5b10ac8d82e05b22cc7d4ef5"
PROJECT = JiraTarget(
    ati="ati:cloud:jira:project",
    ari="ari:cloud:jira:cloud-alpha:project/10001",
    cloud_id="cloud-alpha",
    id="10001",
)


def body(entity_id="payments-db", *, associate=True, user=USER, project_id="10001"):
    payload = {
        "entity": {
            "ari": f"ari:cloud:jira:cloud-alpha:operations-container/{entity_id}",
            "id": entity_id,
        },
        ("associatedWith" if associate else "disassociatedFrom"): {
            "ati": "ati:cloud:jira:project",
            "ari": f"ari:cloud:jira:cloud-alpha:project/{project_id}",
            "cloudId": "cloud-alpha",
            "id": project_id,
        },
    }
    if user is not None:
        payload["user"] = {"id": user}
    return payload


# --- the rules ---------------------------------------------------------------------------------


def test_association_records_entity_target_user_and_site(world):
    row, created = record_association(
        world["a"], entity_id="payments-db", target=PROJECT, account_id=USER
    )
    assert created
    row.refresh_from_db()
    assert row.installation == world["a"]
    assert row.entity_kind == EntityKind.CONTAINER
    assert row.container == world["containers"]["payments-db"]
    assert row.incident is None
    assert (row.target_ati, row.target_ari, row.target_cloud_id, row.target_id) == (
        "ati:cloud:jira:project",
        "ari:cloud:jira:cloud-alpha:project/10001",
        "cloud-alpha",
        "10001",
    )
    assert row.associated_by == USER
    assert row.associated_at is not None


def test_replayed_association_keeps_the_first_row_unchanged(world):
    first, _ = record_association(
        world["a"], entity_id="payments-db", target=PROJECT, account_id=USER
    )
    again, created = record_association(
        world["a"], entity_id="payments-db", target=PROJECT, account_id=OTHER_USER
    )
    assert not created
    assert again.pk == first.pk
    assert again.associated_by == USER
    assert again.associated_at == first.associated_at
    assert EntityAssociation.objects.count() == 1


def test_same_container_can_be_associated_with_several_projects(world):
    other = JiraTarget(ari="ari:cloud:jira:cloud-alpha:project/10002", id="10002")
    record_association(world["a"], entity_id="payments-db", target=PROJECT)
    record_association(world["a"], entity_id="payments-db", target=other)
    assert EntityAssociation.objects.filter(entity_id="payments-db").count() == 2


def test_a_shared_container_is_associated_per_site(world):
    project_b = JiraTarget(ari="ari:cloud:jira:cloud-beta:project/10001")
    record_association(world["a"], entity_id="shared-cache", target=PROJECT)
    record_association(world["b"], entity_id="shared-cache", target=project_b)
    assert EntityAssociation.objects.filter(entity_id="shared-cache").count() == 2
    remove_association(world["b"], entity_id="shared-cache", target=project_b)
    assert list(EntityAssociation.objects.values_list("installation", flat=True)) == [world["a"].pk]


def test_disassociation_removes_only_that_target(world):
    other = JiraTarget(ari="ari:cloud:jira:cloud-alpha:project/10002")
    record_association(world["a"], entity_id="payments-db", target=PROJECT)
    record_association(world["a"], entity_id="payments-db", target=other)
    assert remove_association(world["a"], entity_id="payments-db", target=PROJECT) == 1
    assert list(EntityAssociation.objects.values_list("target_ari", flat=True)) == [other.ari]


def test_replayed_disassociation_is_not_an_error(world):
    record_association(world["a"], entity_id="payments-db", target=PROJECT)
    assert remove_association(world["a"], entity_id="payments-db", target=PROJECT) == 1
    assert remove_association(world["a"], entity_id="payments-db", target=PROJECT) == 0


def test_an_incident_can_be_the_entity(world):
    from tests.incidents.factories import make_incident

    incident = make_incident(
        workspace=world["ws_a"], containers=[world["containers"]["payments-db"]]
    )
    row, _ = record_association(
        world["a"],
        entity_id=incident.external_id,
        entity_ari=f"ari:cloud:jira:cloud-alpha:operations-incident/{incident.external_id}",
        target=PROJECT,
    )
    assert (row.entity_kind, row.incident, row.container) == (EntityKind.INCIDENT, incident, None)


def test_container_and_incident_with_the_same_id_are_told_apart_by_the_ari(world):
    from tests.incidents.factories import make_incident

    container = world["containers"]["payments-db"]
    incident = make_incident(
        workspace=world["ws_a"], containers=[container], external_id="payments-db"
    )
    as_container, _ = record_association(world["a"], entity_id="payments-db", target=PROJECT)
    as_incident, _ = record_association(
        world["a"],
        entity_id="payments-db",
        entity_ari="ari:cloud:jira:cloud-alpha:operations-incident/payments-db",
        target=PROJECT,
    )
    assert as_container.container == container
    assert as_incident.incident == incident


@pytest.mark.parametrize("entity_id", ["secret-b", "nope", "", "a b", "x" * 300, "\x00"])
def test_unknown_or_other_sites_entity_is_not_found(world, entity_id):
    with pytest.raises(EntityNotFound) as refused:
        record_association(world["a"], entity_id=entity_id, target=PROJECT)
    assert "secret-b" not in refused.value.message or entity_id == "secret-b"
    with pytest.raises(EntityNotFound):
        remove_association(world["a"], entity_id=entity_id, target=PROJECT)
    assert not EntityAssociation.objects.exists()


def test_other_sites_entity_and_unknown_entity_get_the_same_message(world):
    messages = []
    for entity_id in ["secret-b", "no-such-thing"]:
        with pytest.raises(EntityNotFound) as refused:
            record_association(world["a"], entity_id=entity_id, target=PROJECT)
        messages.append(refused.value.message.replace(entity_id, "<id>"))
    assert messages[0] == messages[1]


def test_container_deleted_takes_its_associations_with_it(world):
    record_association(world["a"], entity_id="payments-db", target=PROJECT)
    world["containers"]["payments-db"].delete()
    assert not EntityAssociation.objects.exists()


def test_target_needs_an_ari():
    with pytest.raises(InvalidInput):
        JiraTarget(ari="")


def test_acting_user_comes_from_body_then_query_then_token():
    assert acting_account_id("body-user", "query-user", "sub-user") == "body-user"
    assert acting_account_id(None, "query-user", "sub-user") == "query-user"
    assert acting_account_id("", None, "sub-user") == "sub-user"
    assert acting_account_id(None, None, None) is None


@pytest.mark.parametrize("bad", ["has space", "<script>", "x" * 129, 42])
def test_malformed_user_id_is_refused(bad):
    with pytest.raises(InvalidInput):
        acting_account_id(bad)


# --- over HTTP, with a real Connect JWT -------------------------------------------------------


@pytest.mark.parametrize("method", ["PUT", "POST"])
def test_associated_call_records_and_answers_200_with_an_empty_object(client, world, method):
    response = call(client, world["a"], method, ASSOCIATED, body=body())
    assert response.status_code == 200
    assert response.json() == {}
    row = EntityAssociation.objects.get()
    assert row.container is not None
    assert (row.container.external_id, row.target_id, row.associated_by) == (
        "payments-db",
        "10001",
        USER,
    )


@pytest.mark.parametrize("method", ["PUT", "POST"])
def test_disassociated_call_removes(client, world, method):
    call(client, world["a"], "PUT", ASSOCIATED, body=body())
    response = call(client, world["a"], method, DISASSOCIATED, body=body(associate=False))
    assert response.status_code == 200
    assert response.json() == {}
    assert not EntityAssociation.objects.exists()


def test_replayed_call_gives_the_same_answer_and_one_row(client, world):
    token_body = body()
    answers = {
        (r.status_code, r.content)
        for r in (call(client, world["a"], "PUT", ASSOCIATED, body=token_body) for _ in range(10))
    }
    assert answers == {(200, b"{}")}
    assert EntityAssociation.objects.count() == 1


def test_user_from_query_parameter_when_body_has_none(client, world):
    response = call(
        client, world["a"], "PUT", ASSOCIATED, body=body(user=None), params={"userId": OTHER_USER}
    )
    assert response.status_code == 200
    assert EntityAssociation.objects.get().associated_by == OTHER_USER


def test_user_from_the_jwt_sub_when_neither_body_nor_query_has_one(client, world):
    response = call(client, world["a"], "PUT", ASSOCIATED, body=body(user=None), sub=OTHER_USER)
    assert response.status_code == 200
    assert EntityAssociation.objects.get().associated_by == OTHER_USER


def test_body_user_wins_over_query_and_sub(client, world):
    call(client, world["a"], "PUT", ASSOCIATED, body=body(), params={"userId": "q"}, sub="s")
    assert EntityAssociation.objects.get().associated_by == USER


def test_no_user_anywhere_is_recorded_as_unknown(client, world):
    response = call(client, world["a"], "PUT", ASSOCIATED, body=body(user=None))
    assert response.status_code == 200
    assert EntityAssociation.objects.get().associated_by == ""


def test_other_sites_container_is_a_404_that_changes_nothing(client, world):
    response = call(client, world["a"], "PUT", ASSOCIATED, body=body("secret-b"))
    assert response.status_code == 404
    assert response.json()["error"] == "not_found"
    assert not EntityAssociation.objects.exists()


def test_disassociating_another_sites_association_is_a_404_and_keeps_it(client, world):
    call(client, world["b"], "PUT", ASSOCIATED, body=body("secret-b"))
    response = call(
        client, world["a"], "PUT", DISASSOCIATED, body=body("secret-b", associate=False)
    )
    assert response.status_code == 404
    assert response.json()["error"] == "not_found"
    assert EntityAssociation.objects.count() == 1


@pytest.mark.parametrize(
    "payload",
    [
        {},
        {"associatedWith": body()["associatedWith"]},
        {"entity": None, "associatedWith": body()["associatedWith"]},
        {"entity": "payments-db", "associatedWith": body()["associatedWith"]},
        {"entity": {"id": 7}, "associatedWith": body()["associatedWith"]},
        {"entity": {"ari": "x"}, "associatedWith": body()["associatedWith"]},
        {"entity": body()["entity"]},
        {"entity": body()["entity"], "associatedWith": {"id": "10001"}},
        {"entity": body()["entity"], "associatedWith": {"ari": ["x"]}},
        {"entity": body()["entity"], "associatedWith": {"ari": "x", "cloudId": 5}},
        {**body(), "user": "someone"},
        {**body(), "user": {"id": 5}},
        {**body(), "user": {"id": "has spaces"}},
        {**body(), "associatedWith": {**body()["associatedWith"], "ari": "a" * 501}},
    ],
    ids=lambda payload: repr(payload)[:60],
)
def test_malformed_association_is_a_400_that_changes_nothing(client, world, payload):
    response = call(client, world["a"], "PUT", ASSOCIATED, body=payload)
    assert response.status_code == 400
    assert response.json()["error"] in {"invalid", "invalid_request"}
    assert not EntityAssociation.objects.exists()


def test_a_control_character_in_the_body_is_refused_by_the_parser(client, world):
    payload = {**body(), "associatedWith": {**body()["associatedWith"], "ari": "a\x00b"}}
    response = call(client, world["a"], "PUT", ASSOCIATED, body=payload)
    assert response.status_code == 400
    assert response.json()["error"] == "parse_error"
    assert "control character" in response.json()["detail"]
    assert not EntityAssociation.objects.exists()


def test_disassociation_needs_disassociated_from(client, world):
    response = call(client, world["a"], "PUT", DISASSOCIATED, body=body())
    assert response.status_code == 400
    assert "disassociatedFrom" in response.json()["detail"]


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ("", "invalid"),
        ("[]", "invalid_request"),
        ("{", "parse_error"),
        ('{"entity": {"id": "payments-db"}', "parse_error"),
    ],
)
def test_empty_or_malformed_body_is_a_400(client, world, raw, code):
    response = call(client, world["a"], "PUT", ASSOCIATED, raw_body=raw)
    assert response.status_code == 400
    assert response.json()["error"] == code
    assert not EntityAssociation.objects.exists()


def test_malformed_user_id_query_parameter_is_a_400(client, world):
    response = call(
        client, world["a"], "PUT", ASSOCIATED, body=body(user=None), params={"userId": "a b"}
    )
    assert response.status_code == 400
    assert "userId" in response.json()["detail"]
    assert not EntityAssociation.objects.exists()


def test_get_is_not_allowed(client, world):
    response = call(client, world["a"], "GET", ASSOCIATED)
    assert response.status_code == 405
    assert response.json()["error"] == "method_not_allowed"


def test_association_of_a_container_made_later_works(client, site_a, world):
    make_container(world["ws_a"], "late-comer")
    response = call(client, site_a, "PUT", ASSOCIATED, body=body("late-comer"))
    assert response.status_code == 200
