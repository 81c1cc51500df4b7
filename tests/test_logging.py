"""Logs: every call to Jira with its site, operation, status, duration and entity count; text or
JSON lines; never a Connect JWT, a shared secret or a `?jwt=` query, whichever logger prints it."""

import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest
import requests
from django.core.exceptions import ImproperlyConfigured

from connect.client import JiraClient, JiraNotFound, JiraUnavailable
from connect.models import Installation
from jirasim.testing import run_jirasim
from portal.logs import JsonFormatter, TextFormatter, logging_config, redact
from tests.connect.support import free_port
from tests.sync.conftest import install_into

ROOT = Path(__file__).resolve().parents[1]
TOKEN = (
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9"
    ".eyJpc3MiOiJzaXRlLWEiLCJxc2giOiJhYmMiLCJleHAiOjE3MDAwMDAwMDB9"
    ".dGhpcy1pcy1ub3QtYS1yZWFsLXNpZ25hdHVyZQ"
)


def record(msg, *args, exc_info=None, **extra):
    rec = logging.LogRecord("portal.test", logging.WARNING, __file__, 1, msg, args, exc_info)
    rec.__dict__.update(extra)
    return rec


# --- Redaction -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (f"GET /reviews/create?jwt={TOKEN}&xdm_e=x", "GET /reviews/create?jwt=[redacted]&xdm_e=x"),
        (f"/a?b=1&jwt={TOKEN}", "/a?b=1&jwt=[redacted]"),
        ("/a?JWT=not-even-a-token HTTP/1.1", "/a?JWT=[redacted] HTTP/1.1"),
        (f"Authorization: JWT {TOKEN}", "Authorization: JWT [redacted]"),
        (f"token was {TOKEN}.", "token was [redacted]."),
        (f"next=/reviews/create%3Fjwt%3D{TOKEN}", "next=/reviews/create%3Fjwt%3D[redacted]"),
        ("next=%2Fr%3Fjwt%3Dabc%26x%3D1", "next=%2Fr%3Fjwt%3D[redacted]%26x%3D1"),
        ("GET /healthz HTTP/1.1 200", "GET /healthz HTTP/1.1 200"),
        ("eyJ alone, jwt without equals", "eyJ alone, jwt without equals"),
    ],
)
def test_tokens_and_jwt_query_values_are_redacted(text, expected):
    assert redact(text) == expected


def test_the_text_formatter_redacts_arguments_and_tracebacks():
    try:
        raise ValueError(f"bad request /x?jwt={TOKEN}")
    except ValueError:
        exc_info = sys.exc_info()
    line = TextFormatter().format(record("Failed %s", f"/x?jwt={TOKEN}", exc_info=exc_info))
    assert TOKEN not in line
    assert "WARNING portal.test Failed /x?jwt=[redacted]\nTraceback" in line
    assert line.endswith("ValueError: bad request /x?jwt=[redacted]")


def test_the_json_formatter_gives_one_object_with_extras_as_keys_and_no_token():
    line = JsonFormatter().format(
        record(
            'Got "%s"',
            f'/x?jwt={TOKEN}"quoted',
            operation="submit_entities",
            status=202,
            referer=f"https://ops.example.com/reviews/create?jwt={TOKEN}",
        )
    )
    assert TOKEN not in line
    data = json.loads(line)
    assert data["level"] == "WARNING"
    assert data["logger"] == "portal.test"
    assert data["message"] == 'Got "/x?jwt=[redacted]"quoted"'
    assert data["operation"] == "submit_entities"
    assert data["status"] == 202
    assert data["referer"] == "https://ops.example.com/reviews/create?jwt=[redacted]"
    assert {"time", "process"} <= set(data)


@pytest.mark.parametrize(
    ("log_format", "level", "problem"),
    [("xml", "INFO", "LOG_FORMAT"), ("json", "LOUD", "LOG_LEVEL"), ("", "INFO", "LOG_FORMAT")],
)
def test_an_unknown_log_format_or_level_is_refused_with_the_setting_named(
    log_format, level, problem
):
    with pytest.raises(ImproperlyConfigured, match=problem):
        logging_config(log_format, level)


def test_formats_and_levels_are_read_leniently():
    config = logging_config(" JSON ", "warning")
    assert config["formatters"]["portal"]["()"] == "portal.logs.JsonFormatter"
    assert config["root"]["level"] == "WARNING"


def run_logging_script(log_format: str) -> str:
    """Configure logging from the settings in a fresh process, log through Django's and
    gunicorn's loggers what they log for a request carrying a token, return stderr."""
    script = f"""
import logging, django
django.setup()
from django.test import RequestFactory
request = RequestFactory().get("/reviews/create", {{"jwt": "{TOKEN}"}})
logging.getLogger("django.server").info(
    '"%s" %s %s', "GET /reviews/create?jwt={TOKEN} HTTP/1.1", "200", "512",
    extra={{"request": request, "server_time": "now"}},
)
logging.getLogger("django.request").warning(
    "Unauthorized: %s", request.path, extra={{"status_code": 401, "request": request}}
)
logging.getLogger("gunicorn.error").error("Error handling request %s", "/x?jwt={TOKEN}")
logging.getLogger("connect.client").info("Jira %s", "get_workspaces", extra={{"status": 200}})
"""
    env = {
        "PATH": os.environ.get("PATH", ""),
        "DJANGO_SETTINGS_MODULE": "portal.settings",
        "SECRET_KEY": "x" * 50,
        "DATABASE_URL": "sqlite:///:memory:",
        "LOG_FORMAT": log_format,
        "LOG_LEVEL": "INFO",
    }
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return result.stderr


def test_django_and_gunicorn_loggers_print_no_token_as_text():
    output = run_logging_script("text")
    assert TOKEN not in output
    assert "django.server" in output and "/reviews/create?jwt=[redacted]" in output
    assert "Unauthorized: /reviews/create" in output
    assert "gunicorn.error Error handling request /x?jwt=[redacted]" in output


def test_django_and_gunicorn_loggers_print_no_token_as_json():
    output = run_logging_script("json")
    assert TOKEN not in output
    lines = [json.loads(line) for line in output.splitlines()]
    by_logger = {line["logger"]: line for line in lines}
    assert set(by_logger) == {"django.server", "django.request", "gunicorn.error", "connect.client"}
    assert by_logger["django.server"]["message"].startswith('"GET /reviews/create?jwt=[redacted]')
    assert by_logger["django.request"]["status_code"] == 401
    assert "request" not in by_logger["django.request"]  # its repr is the URL with the query
    assert by_logger["connect.client"]["status"] == 200


# --- Calls to Jira (real HTTP against jirasim) ------------------------------------------------


@pytest.fixture
def sim():
    with run_jirasim(seed=1) as simulator:
        yield simulator


@pytest.fixture
def sent_tokens():
    return []


@pytest.fixture
def client_for(sent_tokens):
    """A JiraClient whose session notes every Authorization header it sent."""
    clients = []

    def make(installation, **kwargs):
        session = requests.Session()
        session.hooks["response"].append(
            lambda response, *a, **k: sent_tokens.append(
                response.request.headers["Authorization"].removeprefix("JWT ")
            )
        )
        kwargs.setdefault("sleep", lambda seconds: None)
        client = JiraClient(installation, session=session, **kwargs)
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()


def jira_records(caplog):
    return [r for r in caplog.records if r.name == "connect.client"]


@pytest.mark.django_db
def test_each_call_to_jira_is_logged_with_its_fields_and_never_its_token(
    sim, client_for, sent_tokens, caplog
):
    caplog.set_level(logging.INFO, logger="connect.client")
    installation = install_into(sim)
    client = client_for(installation)
    client.submit_workspaces(["ws-1", "ws-2"])
    client.get_workspaces()
    client.delete_by_properties({"workspaceId": "ws-1"})
    with pytest.raises(JiraNotFound):
        client.get_incident("inc-missing")

    records = jira_records(caplog)
    assert [(r.operation, r.status, r.entities) for r in records] == [
        ("submit_workspaces", 202, 2),
        ("get_workspaces", 200, 0),
        ("delete_by_properties", 202, 0),
        ("get_incident", 404, 0),
    ]
    for r in records:
        assert r.site == installation.base_url
        assert r.client_key == installation.client_key
        assert isinstance(r.duration_ms, int) and 0 <= r.duration_ms < 10_000
        assert r.attempt == 1 and r.failure is None
        assert r.levelno == logging.INFO

    text_lines = [TextFormatter().format(r) for r in records]
    json_lines = [JsonFormatter().format(r) for r in records]
    assert "Jira submit_workspaces site=" + installation.base_url in text_lines[0]
    assert "status=202 " in text_lines[0] and "entities=2" in text_lines[0]
    first = json.loads(json_lines[0])
    assert first["operation"] == "submit_workspaces"
    assert first["site"] == installation.base_url
    assert first["client_key"] == installation.client_key
    assert first["status"] == 202 and first["entities"] == 2
    assert isinstance(first["duration_ms"], int)

    assert len(sent_tokens) == 4
    secret = installation.shared_secret
    for output in (caplog.text, *text_lines, *json_lines):
        for token in sent_tokens:
            assert token not in output
            assert token.split(".")[2] not in output
        assert secret not in output
        assert "workspaceId=ws-1" not in output  # no query string either


@pytest.mark.django_db
def test_a_network_failure_is_logged_as_a_warning_with_the_error_and_no_status(client_for, caplog):
    caplog.set_level(logging.INFO, logger="connect.client")
    installation = Installation(client_key="site-down", base_url=f"http://127.0.0.1:{free_port()}")
    installation.set_shared_secret("s" * 40)
    client = client_for(installation, max_attempts=2, backoff_base=0)
    with pytest.raises(JiraUnavailable):
        client.submit_entities(incidents=[{"id": "a"}, {"id": "b"}, {"id": "c"}])

    records = jira_records(caplog)
    assert [(r.attempt, r.status, r.failure, r.entities) for r in records] == [
        (1, None, "ConnectionError", 3),
        (2, None, "ConnectionError", 3),
    ]
    assert all(r.levelno == logging.WARNING for r in records)
    data = json.loads(JsonFormatter().format(records[0]))
    assert data["status"] is None and data["failure"] == "ConnectionError"
    assert "status=- " in TextFormatter().format(records[0])
