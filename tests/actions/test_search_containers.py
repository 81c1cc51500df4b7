"""searchContainers: GET ?searchQuery=&workspaceId= → the calling site's matching containers."""

from datetime import datetime, timedelta, timezone

import pytest
from django.db import connection

from incidents.models import Container
from incidents.provider import rules as actions
from incidents.provider.rules import (
    SEARCH_QUERY_MAX_LENGTH,
    SEARCH_RESULTS_MAX,
    InvalidInput,
    search_containers,
)
from incidents.sync.payloads import rfc3339

from .support import SEARCH, call, fill, make_container, make_workspace

pytestmark = pytest.mark.django_db


def ids(containers) -> list[str]:
    return [container["id"] for container in containers]


def test_container_is_answered_in_jira_shape(world):
    [container] = search_containers(world["a"], "payments-db")
    assert set(container) == {"id", "name", "url", "lastUpdatedDate"}
    assert container["id"] == "payments-db"
    assert container["name"] == "Payments DB"
    assert container["url"] == "https://ops.example.com/c/payments-db"
    assert container["lastUpdatedDate"].endswith("Z")


def test_match_is_case_insensitive_on_name_and_id(world):
    assert ids(search_containers(world["a"], "PAYMENTS")) == ["payments-api", "payments-db"]
    assert ids(search_containers(world["a"], "-Db")) == ["payments-db"]


def test_search_covers_only_workspaces_linked_to_the_site(world):
    assert "secret-b" not in ids(search_containers(world["a"], "payments"))
    assert ids(search_containers(world["b"], "payments")) == ["secret-b"]
    assert ids(search_containers(world["b"], "cache")) == ["shared-cache"]


def test_empty_or_absent_query_lists_the_sites_containers_by_name(world):
    expected = ["payments-api", "payments-db", "shared-cache"]
    assert ids(search_containers(world["a"], "")) == expected
    assert ids(search_containers(world["a"], None)) == expected
    assert ids(search_containers(world["a"], "   ")) == expected


def test_exact_match_ranks_before_prefix_before_substring(site_a):
    workspace = make_workspace("ws-rank", sites=[site_a])
    make_container(workspace, "a-api-tools", "A api tools")  # substring
    make_container(workspace, "zz-1", "api")  # exact name
    make_container(workspace, "api-main", "Main")  # prefix of the id
    make_container(workspace, "aa-2", "API replica")  # prefix of the name
    make_container(workspace, "api", "Zulu")  # exact id
    assert ids(search_containers(site_a, "api")) == [
        "zz-1",
        "api",
        "aa-2",
        "api-main",
        "a-api-tools",
    ]


def test_name_prefixes_rank_before_id_prefixes_which_go_by_id(site_a):
    workspace = make_workspace("ws-prefix-ranks", sites=[site_a])
    make_container(workspace, "svc-2", "Aardvark")  # id prefixes, by id whatever their names
    make_container(workspace, "svc-1", "Zebra")
    make_container(workspace, "zz-3", "SVC zulu")  # name prefixes, by name
    make_container(workspace, "zz-4", "svc alpha")
    assert ids(search_containers(site_a, "svc")) == ["zz-4", "zz-3", "svc-1", "svc-2"]


def test_short_queries_match_only_at_the_start_of_a_name_or_id(site_a):
    workspace = make_workspace("ws-short", sites=[site_a])
    make_container(workspace, "db-main", "Main")
    make_container(workspace, "orders", "DB replica")
    make_container(workspace, "payments-db", "Payments DB")  # contains "db", starts otherwise
    make_container(workspace, "inner", "a d b")
    assert ids(search_containers(site_a, "db")) == ["orders", "db-main"]
    assert ids(search_containers(site_a, "D")) == ["orders", "db-main"]
    assert ids(search_containers(site_a, "-db")) == ["payments-db"]


def test_names_are_ordered_by_code_point_on_every_database(site_a):
    # A locale's collation may skip punctuation ("a-c" between "ab" and "ad"); code point
    # order keeps every prefix together, which is what lets a prefix be one index range.
    workspace = make_workspace("ws-bytes", sites=[site_a])
    for external_id, name in [("c1", "ad"), ("c2", "a_c"), ("c3", "AB"), ("c4", "a-c")]:
        make_container(workspace, external_id, name)
    assert ids(search_containers(site_a, "")) == ["c4", "c2", "c3", "c1"]
    assert ids(search_containers(site_a, "a-")) == ["c4"]


def test_substring_matches_fill_only_the_places_prefixes_leave(site_a):
    workspace = make_workspace("ws-fill", sites=[site_a])
    for n in range(3):
        make_container(workspace, f"cache-{n}", f"Cache {n}")
    for n in range(4):
        make_container(workspace, f"svc-{n}", f"Shared cache {n}")
    assert ids(search_containers(site_a, "cache", limit=5)) == [
        "cache-0",
        "cache-1",
        "cache-2",
        "svc-0",
        "svc-1",
    ]
    assert ids(search_containers(site_a, "cache", limit=3)) == ["cache-0", "cache-1", "cache-2"]


def test_a_substring_in_more_containers_than_the_candidates_fills_from_those_found(
    site_a, monkeypatch
):
    workspace = make_workspace("ws-candidates", sites=[site_a])
    for n in range(12):
        make_container(workspace, f"svc-{n:02d}", f"Shared cache {n:02d}")
    monkeypatch.setattr(actions, "SUBSTRING_CANDIDATES", 5)
    found = ids(search_containers(site_a, "cache"))
    assert len(found) == 5
    assert found == sorted(found)  # by name, and names follow ids here


def test_prefix_ending_in_the_last_code_point_is_matched(site_a):
    workspace = make_workspace("ws-last", sites=[site_a])
    make_container(workspace, "edge", "a\U0010ffffb")
    make_container(workspace, "after", "b")
    assert ids(search_containers(site_a, "a\U0010ffff")) == ["edge"]


def test_ties_are_ordered_by_name_in_any_case_then_id(site_a):
    workspace = make_workspace("ws-ties", sites=[site_a])
    for external_id, name in [("c1", "gamma api"), ("c2", "Alpha api"), ("c3", "beta api")]:
        make_container(workspace, external_id, name)
    make_container(workspace, "c0", "Alpha api")
    assert ids(search_containers(site_a, "api")) == ["c0", "c2", "c3", "c1"]


def test_results_are_capped(site_a):
    workspace = make_workspace("ws-many", sites=[site_a])
    for n in range(SEARCH_RESULTS_MAX + 5):
        make_container(workspace, f"svc-{n:03d}")
    assert len(search_containers(site_a, "svc")) == SEARCH_RESULTS_MAX
    assert len(search_containers(site_a, "svc", limit=10_000)) == SEARCH_RESULTS_MAX
    assert len(search_containers(site_a, "svc", limit=3)) == 3


def test_workspace_id_narrows_the_search(world):
    assert ids(search_containers(world["a"], "", "ws-shared")) == ["shared-cache"]
    assert ids(search_containers(world["a"], "payments", "ws-shared")) == []


def test_another_sites_workspace_id_gives_nothing(world):
    assert search_containers(world["a"], "", "ws-b") == []
    assert search_containers(world["a"], "", "ws-unlinked") == []
    assert search_containers(world["a"], "", "no such workspace") == []


@pytest.mark.parametrize("wildcard", ["%", "_", "%%", "pay%db", "pay_db", "\\"])
def test_like_wildcards_match_literally(site_a, wildcard):
    workspace = make_workspace("ws-wild", sites=[site_a])
    make_container(workspace, "plain", "Payments DB")
    make_container(workspace, "literal", f"{wildcard} in it")
    assert ids(search_containers(site_a, wildcard)) == ["literal"]


@pytest.mark.parametrize("wildcard", ["%%%", "_x_", "pay%db", "pay_db", "\\\\\\"])
def test_like_wildcards_match_literally_inside_a_name(site_a, wildcard):
    workspace = make_workspace("ws-wild-inside", sites=[site_a])
    make_container(workspace, "plain", "Payments DB")
    make_container(workspace, "literal", f"Has {wildcard} in it")
    assert ids(search_containers(site_a, wildcard)) == ["literal"]


def test_unicode_query_matches(site_a):
    workspace = make_workspace("ws-uni", sites=[site_a])
    make_container(workspace, "zh", "支付服务")
    make_container(workspace, "de", "Größenänderung")
    make_container(workspace, "emoji", "Cache 🔥 hot")
    assert ids(search_containers(site_a, "支付")) == ["zh"]
    assert ids(search_containers(site_a, "größe")) == ["de"]
    assert ids(search_containers(site_a, "🔥 h")) == ["emoji"]


@pytest.mark.skipif(connection.vendor != "postgresql", reason="SQLite folds ASCII case only")
def test_non_ascii_case_folding_on_postgresql(site_a):
    workspace = make_workspace("ws-fold", sites=[site_a])
    make_container(workspace, "de", "Größenänderung")
    assert ids(search_containers(site_a, "GRÖSSE".replace("SS", "ß"))) == ["de"]


def test_query_longer_than_the_limit_is_refused(site_a):
    with pytest.raises(InvalidInput, match=str(SEARCH_QUERY_MAX_LENGTH)):
        search_containers(site_a, "x" * (SEARCH_QUERY_MAX_LENGTH + 1))


def test_query_at_the_limit_is_searched(site_a):
    workspace = make_workspace("ws-long", sites=[site_a])
    make_container(workspace, "long", "y" * SEARCH_QUERY_MAX_LENGTH)
    assert ids(search_containers(site_a, "Y" * SEARCH_QUERY_MAX_LENGTH)) == ["long"]


@pytest.mark.parametrize("query", ["a\x00b", "\ud800"])
def test_query_that_cannot_be_stored_text_is_refused(site_a, query):
    with pytest.raises(InvalidInput):
        search_containers(site_a, query)


# --- over HTTP, with a real Connect JWT -------------------------------------------------------


def test_get_with_search_query(client, world):
    response = call(client, world["a"], "GET", SEARCH, params={"searchQuery": "payments"})
    assert response.status_code == 200
    assert ids(response.json()["containers"]) == ["payments-api", "payments-db"]


def test_get_without_search_query_lists_everything_the_site_sees(client, world):
    response = call(client, world["b"], "GET", SEARCH)
    assert response.status_code == 200
    assert ids(response.json()["containers"]) == ["secret-b", "shared-cache"]


def test_percent_encoded_query_is_decoded(client, site_a):
    workspace = make_workspace("ws-enc", sites=[site_a])
    make_container(workspace, "sp", "Payments DB/replica & co")
    make_container(workspace, "other", "Orders")
    for raw in ["searchQuery=db%2Freplica%20%26%20co", "searchQuery=DB%2fREPLICA+%26+co"]:
        response = call(client, site_a, "GET", SEARCH, query=raw)
        assert response.status_code == 200, raw
        assert ids(response.json()["containers"]) == ["sp"], raw


def test_percent_encoded_unicode_query(client, site_a):
    workspace = make_workspace("ws-enc-uni", sites=[site_a])
    make_container(workspace, "zh", "支付服务")
    response = call(client, site_a, "GET", SEARCH, params={"searchQuery": "支付"})
    assert response.status_code == 200
    assert ids(response.json()["containers"]) == ["zh"]


def test_invalid_percent_encoding_is_not_a_server_error(client, world):
    response = call(client, world["a"], "GET", SEARCH, query="searchQuery=%ED%A0%80%ZZ%")
    assert response.status_code == 200
    assert response.json() == {"containers": []}


def test_long_query_over_http_is_a_400_with_a_reason(client, world):
    response = call(client, world["a"], "GET", SEARCH, params={"searchQuery": "x" * 256})
    assert response.status_code == 400
    assert "searchQuery" in response.json()["detail"]


def test_nul_in_query_over_http_is_a_400(client, world):
    response = call(client, world["a"], "GET", SEARCH, query="searchQuery=a%00b")
    assert response.status_code == 400
    assert "searchQuery" in response.json()["detail"]


def test_workspace_id_over_http(client, world):
    response = call(
        client, world["a"], "GET", SEARCH, params={"searchQuery": "", "workspaceId": "ws-b"}
    )
    assert response.status_code == 200
    assert response.json() == {"containers": []}


def test_post_is_not_allowed(client, world):
    response = call(client, world["a"], "POST", SEARCH, body={"searchQuery": "x"})
    assert response.status_code == 405
    assert response.json()["error"] == "method_not_allowed"


def test_avatar_url_is_answered_only_when_set(site_a):
    workspace = make_workspace("ws-avatar", sites=[site_a])
    make_container(workspace, "with", "With avatar", avatar_url="https://ops.example.com/a.png")
    make_container(workspace, "without", "Without avatar")
    with_avatar, without = search_containers(site_a, "wit")
    assert with_avatar["avatarUrl"] == "https://ops.example.com/a.png"
    assert "avatarUrl" not in without


def test_last_updated_date_is_utc_with_milliseconds_truncated(site_a):
    workspace = make_workspace("ws-dates", sites=[site_a])
    container = make_container(workspace, "dated", "Dated")
    moment = datetime(2026, 3, 4, 5, 6, 7, 999_999, tzinfo=timezone(timedelta(hours=2)))
    type(container).objects.filter(pk=container.pk).update(last_updated=moment)
    for query in ["", "dat", "ate"]:  # listing, prefix, substring
        [found] = search_containers(site_a, query)
        assert found["lastUpdatedDate"] == "2026-03-04T03:06:07.999Z", query
        assert found["lastUpdatedDate"] == rfc3339(moment)


def test_a_container_matching_several_ranks_is_answered_once_at_its_best(site_a):
    workspace = make_workspace("ws-once", sites=[site_a])
    make_container(workspace, "cache", "Cache")  # exact name and id
    make_container(workspace, "cache-eu", "cache eu")  # name and id prefix
    make_container(workspace, "x-cache", "cache x")  # name prefix, id substring
    make_container(workspace, "cache-us", "US cache")  # id prefix, name substring
    assert ids(search_containers(site_a, "CACHE")) == ["cache", "cache-eu", "x-cache", "cache-us"]


def test_substring_fill_only_counts_containers_the_prefixes_found_once(site_a):
    # Both walks find the same 3 containers: 3 places are taken, not 6, so 2 are filled.
    workspace = make_workspace("ws-fill-once", sites=[site_a])
    for n in range(3):
        make_container(workspace, f"pay-{n}", f"Pay {n}")
    for n in range(3):
        make_container(workspace, f"svc-{n}", f"Repay {n}")
    assert ids(search_containers(site_a, "pay", limit=5)) == [
        "pay-0",
        "pay-1",
        "pay-2",
        "svc-0",
        "svc-1",
    ]


def test_punctuation_in_a_substring_must_match_exactly(site_a):
    # On PostgreSQL separators fold to "Q" for the trigram index; the fold only finds candidates.
    workspace = make_workspace("ws-punct", sites=[site_a])
    make_container(workspace, "gw-cache", "gateway-cache")
    make_container(workspace, "gw-space", "gateway cache")
    make_container(workspace, "gw-q", "gatewayqcache")
    make_container(workspace, "gw-under", "gateway_cache")
    assert ids(search_containers(site_a, "y-c")) == ["gw-cache"]
    assert ids(search_containers(site_a, "Y C")) == ["gw-space"]
    assert ids(search_containers(site_a, "yqc")) == ["gw-q"]
    assert ids(search_containers(site_a, "y_c")) == ["gw-under"]
    assert ids(search_containers(site_a, "ay-ca")) == ["gw-cache"]


def test_renamed_container_is_found_by_its_new_name_only(site_a):
    workspace = make_workspace("ws-rename", sites=[site_a])
    container = make_container(workspace, "svc-1", "orders-api eu")
    assert ids(search_containers(site_a, "s-api")) == ["svc-1"]
    container.name = "orders-gateway eu"
    container.save()
    assert ids(search_containers(site_a, "s-api")) == []
    assert ids(search_containers(site_a, "s-gate")) == ["svc-1"]
    Container.objects.filter(pk=container.pk).update(external_id="edge-7")
    assert ids(search_containers(site_a, "ge-7")) == ["edge-7"]


@pytest.mark.parametrize(
    "query", ["s-c", "-db-e", "i-eu 0", "s 0", "che-", "0042", "U 00", "svc-0001", "-Q", "zz-"]
)
def test_substring_search_agrees_with_a_plain_scan_after_analyze(site_a, query):
    # With fresh statistics PostgreSQL asks its index for the query's rarest trigrams only,
    # or reads a bounded probe for a common query; either way, only containers that contain
    # the query are answered, ranked, as many as there are up to the limit.
    workspace = make_workspace("ws-scan", sites=[site_a])
    fill(workspace, 1_500)
    folded = query.upper()
    containers = Container.objects.filter(workspace=workspace)
    matching = {
        c.external_id: c
        for c in containers
        if folded in c.name.upper() or folded in c.external_id.upper()
    }
    found = ids(search_containers(site_a, query))
    assert len(found) == min(len(matching), SEARCH_RESULTS_MAX)
    assert set(found) <= set(matching)

    def rank(c: Container) -> tuple:
        if folded in (c.name.upper(), c.external_id.upper()):
            return (0, c.name.lower(), c.external_id)
        if c.name.upper().startswith(folded):
            return (1, c.name.lower(), c.external_id)
        if c.external_id.upper().startswith(folded):
            return (2, c.external_id.lower(), c.external_id)
        return (3, c.name.lower(), c.external_id)

    answered = [rank(matching[external_id]) for external_id in found]
    assert answered == sorted(answered)
    # Every exact and prefix match comes before any other (all of them, up to the limit).
    prefixed = sorted(rank(c) for c in matching.values() if rank(c)[0] < 3)
    assert answered[: len(prefixed)] == prefixed[:SEARCH_RESULTS_MAX]
