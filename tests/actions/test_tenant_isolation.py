"""Site A never sees, changes or learns about site B's workspaces, containers or associations.

The property test probes with a valid JWT of one site and ids drawn from both sites' data,
unknown ids and junk, over all four actions, and checks each answer against what that site
may see.
"""

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from incidents.models import Container, Workspace
from incidents.models.associations import EntityAssociation

from .support import ASSOCIATED, DISASSOCIATED, FETCH, SEARCH, call, make_site

pytestmark = pytest.mark.django_db


@pytest.fixture
def tenants(world):
    site_c = make_site("gamma")  # installed, nothing linked
    b_row = EntityAssociation.objects.create(
        installation=world["b"],
        entity_kind="container",
        entity_id="secret-b",
        container=world["containers"]["secret-b"],
        target_ari="ari:cloud:jira:cloud-beta:project/1",
    )
    visible = {
        site.pk: {
            "workspaces": set(
                Workspace.objects.filter(links__installation=site).values_list(
                    "external_id", flat=True
                )
            ),
            "containers": set(
                Container.objects.filter(workspace__links__installation=site).values_list(
                    "external_id", flat=True
                )
            ),
        }
        for site in (world["a"], world["b"], site_c)
    }
    return {"sites": [world["a"], world["b"], site_c], "visible": visible, "b_row": b_row}


KNOWN_IDS = [
    "ws-a",
    "ws-b",
    "ws-shared",
    "ws-unlinked",
    "payments-db",
    "payments-api",
    "secret-b",
    "shared-cache",
]
ids = st.one_of(
    st.sampled_from(KNOWN_IDS),
    st.text(max_size=30),
    st.sampled_from(["ws-A", "WS-B", "secret-b ", " ws-b", "ws-b,ws-a", "%", "_", "*"]),
)


def test_site_a_does_not_see_site_b_workspaces(client, world):
    response = call(client, world["a"], "POST", FETCH, body={"ids": ["ws-b", "ws-a"]})
    assert [w["id"] for w in response.json()["workspaces"]] == ["ws-a"]


def test_site_with_nothing_linked_sees_nothing(client, tenants):
    site_c = tenants["sites"][2]
    assert call(client, site_c, "GET", SEARCH).json() == {"containers": []}
    everything = {"ids": ["ws-a", "ws-b", "ws-shared", "ws-unlinked"]}
    assert call(client, site_c, "POST", FETCH, body=everything).json() == {"workspaces": []}


def test_unlinking_a_workspace_hides_it_at_once(client, world):
    world["ws_shared"].unlink_site(world["a"])
    response = call(client, world["a"], "GET", SEARCH, params={"searchQuery": "cache"})
    assert response.json() == {"containers": []}


@settings(
    max_examples=125,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    site_index=st.integers(min_value=0, max_value=2),
    requested=st.lists(ids, max_size=8),
    query=st.one_of(st.none(), ids),
    workspace_id=st.one_of(st.none(), ids),
    entity_id=ids,
)
def test_cross_tenant_probes_never_reveal_or_change_another_sites_data(
    client, tenants, site_index, requested, query, workspace_id, entity_id
):
    with transaction.atomic():  # each example starts from the same rows
        probe(client, tenants, site_index, requested, query, workspace_id, entity_id)
        transaction.set_rollback(True)


def probe(client, tenants, site_index, requested, query, workspace_id, entity_id) -> None:
    """Four calls with a valid JWT of one site (4 probes per example, 500 in all)."""
    site = tenants["sites"][site_index]
    visible = tenants["visible"][site.pk]

    fetched = call(client, site, "POST", FETCH, body={"ids": requested})
    assert fetched.status_code in (200, 400)  # 400: an id with NUL or a lone surrogate
    if fetched.status_code == 200:
        assert {w["id"] for w in fetched.json()["workspaces"]} <= visible["workspaces"]

    params = {k: v for k, v in {"searchQuery": query, "workspaceId": workspace_id}.items() if v}
    searched = call(client, site, "GET", SEARCH, params=params)
    assert searched.status_code in (200, 400)
    if searched.status_code == 200:
        assert {c["id"] for c in searched.json()["containers"]} <= visible["containers"]

    payload = {
        "entity": {"id": entity_id},
        "disassociatedFrom": {"ari": "ari:cloud:jira:cloud-beta:project/1"},
    }
    removed = call(client, site, "PUT", DISASSOCIATED, body=payload)
    associated = call(
        client,
        site,
        "PUT",
        ASSOCIATED,
        body={"entity": {"id": entity_id}, "associatedWith": {"ari": "ari:probe"}},
    )
    for response in (removed, associated):
        assert response.status_code in (200, 400, 404)
        if response.status_code == 404:  # the same words for another site's id and a made-up one
            assert (
                response.json()["detail"] == f"no container or incident {entity_id!r} for this site"
            )
    if entity_id not in visible["containers"]:
        assert associated.status_code in (400, 404)
    others = EntityAssociation.objects.exclude(installation=site)
    if site != tenants["sites"][1]:
        assert list(others) == [tenants["b_row"]]
    else:
        assert not others.exists()
