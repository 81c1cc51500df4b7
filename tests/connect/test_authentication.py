"""Jira → app calls through ConnectAPIView: who gets in, what the view sees, how refusals read."""

import json

import pytest

from connect.models import Installation

from .support import make_installation, server_token

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.connect.urls")]

SECRET = "site-secret-" + "x" * 64
ECHO = "/connect-test/echo"


@pytest.fixture
def site():
    return make_installation("site-a", SECRET)


def get(client, query="searchQuery=db", token=None, **headers):
    if token is not None:
        headers["HTTP_AUTHORIZATION"] = f"JWT {token}"
    return client.get(f"{ECHO}?{query}" if query else ECHO, **headers)


def test_genuine_call_reaches_the_view_with_the_site_and_account(client, site):
    token = server_token(SECRET, iss="site-a", path=ECHO, sub="557058:acc")
    response = get(client, token=token)
    assert response.status_code == 200
    assert response.json() == {
        "client_key": "site-a",
        "account_id": "557058:acc",
        "user_is_authenticated": False,
    }


def test_genuine_token_in_the_jwt_query_parameter_is_refused(client, site):
    """A token copied from an access log (where query strings land) never gets in."""
    token = server_token(SECRET, iss="site-a", path=ECHO)
    response = get(client, query=f"searchQuery=db&jwt={token}")
    assert response.status_code == 401
    assert response.json()["error"] == "token_in_query"


def test_jwt_query_parameter_is_refused_even_beside_a_valid_header(client, site):
    token = server_token(SECRET, iss="site-a", path=ECHO)
    response = get(client, query=f"searchQuery=db&jwt={token}", token=token)
    assert response.status_code == 401
    assert response.json()["error"] == "token_in_query"


def test_logged_token_posted_again_with_another_body_is_refused(client, site):
    """qsh does not cover the body: a token from a URL must not carry a body of one's choice."""
    token = server_token(SECRET, iss="site-a", method="POST", path=ECHO, query="")
    response = client.post(
        f"{ECHO}?jwt={token}",
        json.dumps({"ids": ["someone-elses"]}),
        content_type="application/json",
    )
    assert response.status_code == 401
    assert response.json()["error"] == "token_in_query"


def test_refusal_says_which_scheme_is_expected(client, site):
    response = get(client)
    assert response.status_code == 401
    assert response.json()["error"] == "not_authenticated"
    assert response["WWW-Authenticate"] == "JWT"
    assert "JWT" in response.json()["detail"]


def test_query_string_is_part_of_the_signature(client, site):
    token = server_token(SECRET, iss="site-a", path=ECHO, query="searchQuery=db")
    response = get(client, query="searchQuery=secret-other", token=token)
    assert response.status_code == 401
    assert response.json()["error"] == "qsh_mismatch"


def test_post_body_is_not_part_of_the_signature_but_is_parsed_after_auth(client, site):
    token = server_token(SECRET, iss="site-a", method="POST", path=ECHO, query="")
    response = client.post(
        ECHO,
        json.dumps({"ids": ["w1"]}),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"JWT {token}",
    )
    assert response.json() == {"received": {"ids": ["w1"]}}


def test_malformed_json_after_auth_is_a_json_400(client, site):
    token = server_token(SECRET, iss="site-a", method="POST", path=ECHO, query="")
    response = client.post(
        ECHO, "{oops", content_type="application/json", HTTP_AUTHORIZATION=f"JWT {token}"
    )
    assert response.status_code == 400
    assert response.json()["error"] == "parse_error"


def test_method_not_allowed_is_json(client, site):
    token = server_token(SECRET, iss="site-a", method="DELETE", path=ECHO, query="")
    response = client.delete(ECHO, HTTP_AUTHORIZATION=f"JWT {token}")
    assert response.status_code == 405
    assert response.json()["error"] == "method_not_allowed"


def test_unreadable_stored_secret_is_a_401_not_a_500(client, site):
    Installation.objects.filter(pk=site.pk).update(shared_secret_encrypted="garbage")
    token = server_token(SECRET, iss="site-a", path=ECHO)
    response = get(client, token=token)
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_signature"


def test_site_disabled_after_the_token_was_issued_is_refused(client, site):
    token = server_token(SECRET, iss="site-a", path=ECHO)
    Installation.objects.filter(pk=site.pk).update(enabled=False)
    assert get(client, token=token).json()["error"] == "inactive_installation"


def test_a_base_url_path_prefix_is_stripped_before_hashing(client, site, settings):
    settings.CONNECT_BASE_URL = "https://ops.example.com/portal"
    token = server_token(SECRET, iss="site-a", path=ECHO)
    assert get(client, token=token, SCRIPT_NAME="/portal").status_code == 200
