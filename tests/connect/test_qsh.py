"""The query-string hash against Atlassian's rules and published examples
(https://developer.atlassian.com/cloud/jira/platform/understanding-jwt-for-connect-apps/)."""

import pytest
from atlassian_jwt.url_utils import canonicalize_request, hash_url
from hypothesis import given
from hypothesis import strategies as st

from connect.jwt import canonical_request, query_string_hash, relative_path


def test_spec_example_canonical_request_and_hash():
    query = "zee_last=param&repeated=parameter%201&first=param&repeated=parameter%202"
    assert canonical_request("GET", "/path/to/service", query) == (
        "GET&/path/to/service&first=param&repeated=parameter%201,parameter%202&zee_last=param"
    )
    assert query_string_hash("GET", "/path/to/service", query) == (
        "e52bb281606c3bd9ca16cfe96fe2df78f5d9ffa126f06befd750dfa10fa1a897"
    )


@pytest.mark.parametrize(
    ("method", "path", "query", "canonical", "head", "tail"),
    [
        (
            "POST",
            "/actions/fetchWorkspaces",
            "",
            "POST&/actions/fetchWorkspaces&",
            "b17828b6",
            "d3d3cc",
        ),
        (
            "GET",
            "/actions/searchContainers",
            "searchQuery=db+prod&workspaceId=ws-1",
            "GET&/actions/searchContainers&searchQuery=db%20prod&workspaceId=ws-1",
            "d8669220",
            # The doc abbreviates this hash as d8669220…6c2135; the SHA-256 of its own canonical
            # string (and atlassian-jwt's hash) ends in 28df2135, so the doc's tail is a typo.
            "28df2135",
        ),
        (
            "DELETE",
            "/rest/operations/1.0/linkedWorkspaces/bulk",
            "workspaceIds=111-222-333,444-555-666",
            "DELETE&/rest/operations/1.0/linkedWorkspaces/bulk&workspaceIds=111-222-333%2C444-555-666",
            "1e84f611",
            "935d56",
        ),
        (
            "PUT",
            "/actions/onEntityAssociated",
            "jwt=abc",
            "PUT&/actions/onEntityAssociated&",
            "26d9e41c",
            "6c623ab6",
        ),
        ("GET", "/", "", "GET&/&", "c88caad1", "df3239"),
        ("GET", "", "", "GET&/&", "c88caad1", "df3239"),
    ],
)
def test_published_vectors(method, path, query, canonical, head, tail):
    assert canonical_request(method, path, query) == canonical
    digest = query_string_hash(method, path, query)
    assert digest.startswith(head) and digest.endswith(tail)
    assert digest == hash_url(method, path + (f"?{query}" if query else ""))


def test_method_is_upper_cased():
    assert canonical_request("get", "/a") == "GET&/a&"


def test_parameters_are_sorted_by_name():
    assert canonical_request("GET", "/a", "b=2&a=1&B=3") == "GET&/a&B=3&a=1&b=2"


def test_repeated_parameters_are_sorted_and_comma_joined():
    assert canonical_request("GET", "/a", "k=z&k=a&k=m") == "GET&/a&k=a,m,z"


def test_a_comma_in_one_value_differs_from_repeated_values():
    single = query_string_hash("DELETE", "/x", "ids=a,b")
    repeated = query_string_hash("DELETE", "/x", "ids=a&ids=b")
    assert single != repeated
    assert canonical_request("DELETE", "/x", "ids=a,b") == "DELETE&/x&ids=a%2Cb"


def test_plus_and_percent_20_are_the_same_space():
    assert query_string_hash("GET", "/a", "q=a+b") == query_string_hash("GET", "/a", "q=a%20b")


def test_reserved_characters_are_percent_encoded_and_unreserved_kept():
    assert canonical_request("GET", "/a", "q=%2A%7E%21%27()") == "GET&/a&q=%2A~%21%27%28%29"


def test_unicode_is_utf8_percent_encoded():
    assert canonical_request("GET", "/a", "q=%C3%A9") == "GET&/a&q=%C3%A9"


def test_jwt_parameter_is_excluded():
    assert canonical_request("GET", "/a", "jwt=xyz&b=1") == "GET&/a&b=1"


def test_empty_value_is_kept():
    assert canonical_request("GET", "/a", "empty=&b=1") == "GET&/a&b=1&empty="


def test_ampersand_in_path_is_encoded():
    assert canonical_request("GET", "/a&b", "") == "GET&/a%26b&"


def test_one_trailing_slash_is_removed():
    assert canonical_request("GET", "/a/b/", "") == "GET&/a/b&"


def test_escapes_in_the_path_are_kept_as_sent():
    assert canonical_request("GET", "/incidents/a%2Fb", "") == "GET&/incidents/a%2Fb&"


def test_base_path_is_stripped():
    assert relative_path("/wiki/rest/api", "/wiki") == "/rest/api"
    assert relative_path("/wiki", "/wiki/") == "/"
    assert relative_path("/wikipedia/x", "/wiki") == "/wikipedia/x"
    assert relative_path("/rest/api", "") == "/rest/api"


names = st.text(alphabet="abcXYZ09-_.~ *!+&=%é", min_size=1, max_size=6)
values = st.text(alphabet="abcXYZ09-_.~ *!+,é/", max_size=6)


@given(st.lists(st.tuples(names, values), max_size=5))
def test_agrees_with_atlassian_jwt_on_generated_queries(pairs):
    from urllib.parse import quote

    query = "&".join(f"{quote(name, safe='')}={quote(value, safe='')}" for name, value in pairs)
    assert canonical_request("GET", "/path", query) == canonicalize_request("GET", f"/path?{query}")
    assert query_string_hash("GET", "/path", query) == hash_url("GET", f"/path?{query}")


def test_atlassian_jwt_computes_the_hash_of_ordinary_requests(monkeypatch):
    from atlassian_jwt import url_utils

    seen = []
    real = url_utils.canonicalize_request

    def spy(method, url):
        seen.append((method, url))
        return real(method, url)

    monkeypatch.setattr(url_utils, "canonicalize_request", spy)
    query_string_hash("GET", "/jira/operations/containers/search", "searchQuery=db")
    assert seen == [("GET", "/jira/operations/containers/search?searchQuery=db")]


@pytest.mark.parametrize(
    ("path", "misread", "as_sent"),
    [
        # urlparse takes a first segment ending in ':' for a scheme and drops it.
        ("/http:x/y", "GET&/x/y&", "GET&/http:x/y&"),
        # A decoded path may hold '?' or '#' (sent as %3F, %23): urlparse cuts there.
        ("/incidents/a?b", "GET&/incidents/a&b=", "GET&/incidents/a?b&"),
        ("/incidents/a#b", "GET&/incidents/a&", "GET&/incidents/a#b&"),
        # It strips every leading and trailing '/'; the rules remove one trailing '/'.
        ("//x/y", "GET&/x/y&", "GET&//x/y&"),
        ("/x/y//", "GET&/x/y&", "GET&/x/y/&"),
    ],
)
def test_paths_atlassian_jwt_misreads_keep_the_rules_canonicaliser(path, misread, as_sent):
    assert canonicalize_request("GET", path) == misread
    assert canonical_request("GET", path) == as_sent
