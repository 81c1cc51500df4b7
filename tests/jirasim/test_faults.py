"""Faults and limits behave as configured, reproducibly, and only on the REST API."""

import math
import time

import pytest
import requests

from jirasim.testing import run_jirasim
from tests.jirasim.builders import API, install, make_incident

BULK = f"{API}/bulk"


def submit(app, incident_id="INC-1"):
    return app.post(BULK, json={"incidents": [make_incident(id=incident_id)]})


def statuses(seed, count=60, **faults):
    with run_jirasim(seed=seed, **faults) as sim:
        app = install(sim)
        return [submit(app, f"I-{i}").status_code for i in range(count)]


def test_fail_rate_one_fails_everything_and_stores_nothing():
    with run_jirasim(fail_rate=1.0) as sim:
        app = install(sim)
        answers = [submit(app) for _ in range(20)]
        assert {a.status_code for a in answers} == {500, 503}
        assert all(a.headers["Retry-After"] == "1" for a in answers if a.status_code == 503)
        assert all(isinstance(a.json()[0]["message"], str) for a in answers)
        assert sim.incidents() == {}


def test_fail_rate_is_roughly_the_configured_fraction():
    answers = statuses(seed=3, count=200, fail_rate=0.3, fail_statuses=(500,))
    assert 40 <= answers.count(500) <= 80
    assert answers.count(500) + answers.count(202) == 200


def test_same_seed_gives_the_same_faults_and_another_seed_does_not():
    first = statuses(seed=11, fail_rate=0.3)
    assert first == statuses(seed=11, fail_rate=0.3)
    assert first != statuses(seed=12, fail_rate=0.3)


def test_throttle_answers_429_with_retry_after_and_reason():
    with run_jirasim(
        throttle_rate=1.0, retry_after=30, rate_limit_reason="jira-quota-tenant-based"
    ) as sim:
        response = submit(install(sim))
        assert response.status_code == 429
        assert response.headers["Retry-After"] == "30"
        assert response.headers["RateLimit-Reason"] == "jira-quota-tenant-based"


class FakeClock:
    """Starts just after a minute boundary ahead of real time, so real tokens stay valid."""

    def __init__(self):
        self.now = math.ceil(time.time() / 60) * 60 + 1.0

    def __call__(self):
        return self.now


def test_rate_limit_per_minute_answers_429_with_headers_until_the_window_resets():
    clock = FakeClock()
    with run_jirasim(rate_limit_per_minute=3, clock=clock) as sim:
        app = install(sim)
        allowed = [submit(app, f"I-{i}") for i in range(3)]
        assert [a.status_code for a in allowed] == [202, 202, 202]
        assert [a.headers["X-RateLimit-Remaining"] for a in allowed] == ["2", "1", "0"]
        assert allowed[-1].headers["X-RateLimit-NearLimit"] == "true"
        refused = submit(app, "I-3")
        assert refused.status_code == 429
        assert refused.headers["Retry-After"] == "59"
        assert refused.headers["X-RateLimit-Limit"] == "3"
        assert refused.headers["X-RateLimit-Remaining"] == "0"
        assert refused.headers["X-RateLimit-Reset"].endswith("Z")
        assert "I-3" not in sim.incidents()
        clock.now += 60
        assert submit(app, "I-3").status_code == 202


def test_rate_limit_is_counted_per_site():
    with run_jirasim(rate_limit_per_minute=1, clock=FakeClock()) as sim:
        sim.create_site("b")
        on_a, on_b = install(sim), install(sim, site="b")
        assert submit(on_a).status_code == 202
        assert submit(on_a).status_code == 429
        assert submit(on_b).status_code == 202


def test_dropped_connection_gets_no_answer_and_changes_nothing():
    with run_jirasim(drop_rate=1.0) as sim:
        app = install(sim)
        with pytest.raises(requests.ConnectionError):
            submit(app)
        assert sim.incidents() == {}
        [entry] = sim.log.entries()
        assert entry["status"] is None and entry["fault"] == "fault:drop"


def test_dropped_response_loses_the_answer_but_applies_the_request():
    with run_jirasim(drop_response_rate=1.0) as sim:
        app = install(sim)
        with pytest.raises(requests.ConnectionError):
            submit(app)
        assert list(sim.incidents()) == ["INC-1"]


def test_latency_and_slow_answers_delay_the_response():
    with run_jirasim(latency_ms=100, slow_rate=1.0, slow_ms=150) as sim:
        app = install(sim)
        started = time.monotonic()
        assert submit(app).status_code == 202
        assert time.monotonic() - started >= 0.25


def test_scripted_answers_come_first_and_in_order():
    script = [
        {"status": 429, "retry_after": 1847, "reason": "jira-quota-global-based"},
        {"status": 503},
        {"drop": True},
    ]
    with run_jirasim(script=script) as sim:
        app = install(sim)
        first = submit(app)
        assert first.status_code == 429
        assert first.headers["Retry-After"] == "1847"
        assert first.headers["RateLimit-Reason"] == "jira-quota-global-based"
        second = submit(app)
        assert second.status_code == 503 and "Retry-After" not in second.headers
        with pytest.raises(requests.ConnectionError):
            submit(app)
        assert submit(app).status_code == 202


def test_down_answers_every_request_503():
    with run_jirasim(down=True, retry_after=None) as sim:
        response = submit(install(sim))
        assert response.status_code == 503
        assert "Retry-After" not in response.headers


def test_faults_leave_the_control_api_and_page_alone():
    with run_jirasim(fail_rate=1.0, drop_rate=0.0) as sim:
        assert requests.get(f"{sim.url}/_sim/state", timeout=5).status_code == 200
        assert requests.get(f"{sim.url}/", timeout=5).status_code == 200


def test_faults_can_be_changed_and_cleared_through_the_control_api(sim):
    app = install(sim)
    changed = requests.post(f"{sim.url}/_sim/faults", json={"fail_rate": 1.0}, timeout=5)
    assert changed.json()["fail_rate"] == 1.0
    assert submit(app).status_code in (500, 503)
    requests.delete(f"{sim.url}/_sim/faults", timeout=5)
    assert submit(app).status_code == 202


@pytest.mark.parametrize(
    "change",
    [{"fail_rate": 2}, {"fail_statuses": [200]}, {"no_such_fault": 1}, {"script": [{}]}],
)
def test_invalid_fault_settings_are_refused_with_a_reason(sim, change):
    response = requests.post(f"{sim.url}/_sim/faults", json=change, timeout=5)
    assert response.status_code == 400
    assert response.json()["error"]
    assert requests.get(f"{sim.url}/_sim/faults", timeout=5).json()["fail_rate"] == 0
