"""Every JWT defect is a 401, a missing scope or module a 403, as Jira answers."""

import time

import jwt
import pytest

from jirasim.testing import AppClient
from tests.jirasim.builders import API, install, make_descriptor, make_incident

BULK = f"{API}/bulk"
GET_ONE = f"{API}/incidents/INC-1"


def submit(app, **kwargs):
    return app.post(BULK, json={"incidents": [make_incident()]}, **kwargs)


def test_a_correctly_signed_request_is_accepted(app):
    assert submit(app).status_code == 202


def test_missing_authorization_is_401(app):
    response = submit(app, authorization="")
    assert response.status_code == 401
    assert "Authorization" in response.json()[0]["message"]


def test_bearer_scheme_is_401(app):
    token = app.token("POST", app.base_url + BULK)
    assert submit(app, authorization=f"Bearer {token}").status_code == 401


def test_wrong_secret_is_401(app):
    token = jwt.encode(
        {**jwt.decode(app.token("POST", app.base_url + BULK), options={"verify_signature": False})},
        "not-the-shared-secret-but-32-bytes-long",
        algorithm="HS256",
    )
    response = submit(app, authorization=f"JWT {token}")
    assert response.status_code == 401
    assert "signature" in response.json()[0]["message"]


def test_qsh_of_another_request_is_401(app):
    token = app.token("GET", app.base_url + GET_ONE)
    response = submit(app, authorization=f"JWT {token}")
    assert response.status_code == 401
    assert "qsh" in response.json()[0]["message"]


def test_qsh_that_leaves_out_the_query_is_401(app):
    url = f"{app.base_url}{API}/bulkByProperties"
    token = app.token("DELETE", url)
    response = app.delete(
        f"{API}/bulkByProperties", params={"accountId": "a"}, authorization=f"JWT {token}"
    )
    assert response.status_code == 401


def test_expired_token_is_401(app):
    past = int(time.time()) - 600
    response = submit(app, iat=past, exp=past + 180)
    assert response.status_code == 401
    assert "expired" in response.json()[0]["message"]


def test_token_expired_within_the_leeway_is_accepted(app):
    now = int(time.time())
    assert submit(app, iat=now - 200, exp=now - 10).status_code == 202


def test_iat_in_the_future_is_401(app):
    future = int(time.time()) + 600
    assert submit(app, iat=future, exp=future + 180).status_code == 401


@pytest.mark.parametrize("claim", ["exp", "iat", "qsh"])
def test_token_without_a_required_claim_is_401(app, claim):
    response = submit(app, **{claim: None})
    assert response.status_code == 401
    assert claim in response.json()[0]["message"]


def test_context_qsh_is_401(app):
    assert submit(app, qsh="context-qsh").status_code == 401


def test_unknown_issuer_is_401(app):
    response = submit(app, iss="com.example.someone-else")
    assert response.status_code == 401
    assert "iss" in response.json()[0]["message"]


def test_alg_none_is_401(app):
    claims = jwt.decode(app.token("POST", app.base_url + BULK), options={"verify_signature": False})
    # PyJWT's hints leave out the None that alg "none" requires as its key.
    token = jwt.encode(claims, None, algorithm="none")  # type: ignore[arg-type]
    response = submit(app, authorization=f"JWT {token}")
    assert response.status_code == 401
    assert "HS256" in response.json()[0]["message"]


def test_garbage_token_is_401(app):
    assert submit(app, authorization="JWT not.a.token").status_code == 401


def test_rejections_change_nothing_and_are_counted(sim, app):
    submit(app, qsh="0" * 64)
    assert sim.incidents() == {}
    assert sim.counters["jwt-rejected:qsh"] == 1


def test_uninstalled_app_is_401(sim, app):
    sim.uninstall()
    assert submit(app).status_code == 401


@pytest.mark.parametrize(
    ("scopes", "method", "path", "missing"),
    [
        (["READ"], "POST", BULK, "WRITE"),
        (["WRITE"], "DELETE", GET_ONE, "DELETE"),
        (["ACT_AS_USER"], "GET", GET_ONE, "READ"),
    ],
)
def test_missing_scope_is_403(sim, scopes, method, path, missing):
    app = install(sim, make_descriptor(scopes=scopes))
    response = app.request(method, path, json={"incidents": [make_incident()]})
    assert response.status_code == 403
    assert f"'{missing}'" in response.json()[0]["message"]


def test_scopes_imply_lower_scopes_and_ignore_case(sim):
    app = install(sim, make_descriptor(scopes=["delete"]))
    assert submit(app).status_code == 202
    assert app.get(GET_ONE).status_code == 200


def test_app_without_the_operations_module_is_403(sim):
    app = install(sim, make_descriptor(modules={}))
    response = submit(app)
    assert response.status_code == 403
    assert "jiraOperationsInfoProvider" in response.json()[0]["message"]


def test_named_site_hashes_the_path_relative_to_its_base_url(sim):
    sim.create_site("b")
    app = install(sim, site="b")
    assert submit(app).status_code == 202
    with_prefix = AppClient(sim, app.installation, site="b", hasher=app.hasher)
    with_prefix.base_url = sim.url
    token = with_prefix.token("POST", f"{sim.url}/site/b{BULK}")
    assert submit(app, authorization=f"JWT {token}").status_code == 401


def test_token_of_one_site_is_refused_on_another(sim):
    sim.create_site("b")
    on_a = install(sim)
    install(sim, site="b")
    token = on_a.token("POST", on_a.base_url + BULK)
    on_b = AppClient(sim, on_a.installation, site="b", hasher=on_a.hasher)
    response = on_b.post(BULK, json={"incidents": [make_incident()]}, authorization=f"JWT {token}")
    assert response.status_code == 401
    assert sim.incidents(site="b") == {}
