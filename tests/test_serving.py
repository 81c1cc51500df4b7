"""Production serving for real: migrate, collectstatic and gunicorn (gunicorn.conf.py) in their
own processes with production settings, spoken to over HTTP like a proxy and a probe would."""

from __future__ import annotations

import json
import os
import re
import secrets
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from tests.connect.support import free_port
from tests.connect.test_checks import production_env, run_check

ROOT = Path(__file__).resolve().parents[1]
GUNICORN = str(Path(sys.executable).with_name("gunicorn"))
HOST = "ops.example.com"
PROXIED = {"Host": HOST, "X-Forwarded-Proto": "https"}
TOKEN = "eyJhbGciOiJIUzI1NiJ9.eyJpc3MiOiJzaXRlLWEiLCJleHAiOjF9.c2lnbmF0dXJlLW5vdC1yZWFs"


def serving_env(tmp: Path, **overrides: str) -> dict[str, str]:
    env = {
        "PATH": os.environ.get("PATH", ""),
        "SECRET_KEY": secrets.token_urlsafe(50),
        "DEBUG": "false",
        "ALLOWED_HOSTS": HOST,
        "CONNECT_BASE_URL": f"https://{HOST}",
        "DATABASE_URL": f"sqlite:///{tmp / 'portal.sqlite3'}",
        "STATIC_ROOT": str(tmp / "static"),
        "LOG_FORMAT": "json",
        "WEB_CONCURRENCY": "2",
    }
    env.update(overrides)
    return env


def manage(env: dict[str, str], *args: str) -> None:
    subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
        timeout=120,
    )


@dataclass
class Server:
    url: str
    process: subprocess.Popen
    log_path: Path

    def stop(self) -> str:
        """Stop gunicorn as systemd would (SIGTERM) and return what it logged."""
        if self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=30)
        return self.log_path.read_text()


def start_gunicorn(env: dict[str, str], log_path: Path) -> Server:
    port = free_port()
    with log_path.open("w") as log:
        process = subprocess.Popen(
            [GUNICORN, "--config", "gunicorn.conf.py", "--bind", f"127.0.0.1:{port}"],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    server = Server(f"http://127.0.0.1:{port}", process, log_path)
    try:
        wait_until_answering(server)
    except BaseException:
        server.stop()
        raise
    return server


def wait_until_answering(server: Server) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise AssertionError(f"gunicorn exited:\n{server.log_path.read_text()}")
        try:
            requests.get(server.url + "/healthz", timeout=10)
            return
        except (requests.ConnectionError, requests.Timeout):
            time.sleep(0.2)
    raise AssertionError(f"gunicorn did not answer:\n{server.log_path.read_text()}")


def wait_for_log(server: Server, fragment: str, timeout: float = 10) -> str:
    """The server's log once it holds `fragment` (gunicorn writes access lines after answering)."""
    deadline = time.monotonic() + timeout
    while True:
        output = server.log_path.read_text()
        if fragment in output:
            return output
        if time.monotonic() > deadline:
            raise AssertionError(f"no {fragment!r} in the log within {timeout} s:\n{output}")
        time.sleep(0.05)


@pytest.fixture(scope="module")
def served(tmp_path_factory) -> Iterator[Server]:
    tmp = tmp_path_factory.mktemp("serve")
    env = serving_env(tmp)
    manage(env, "migrate", "--no-input")
    manage(env, "collectstatic", "--no-input")
    server = start_gunicorn(env, tmp / "gunicorn.log")
    yield server
    server.stop()


def test_gunicorn_serves_hashed_compressed_static_files_cached_for_a_year(served):
    page = requests.get(served.url + "/admin/login/", headers=PROXIED, timeout=10)
    assert page.status_code == 200
    css = re.search(r'href="(/static/admin/css/base\.[0-9a-f]{12}\.css)"', page.text)
    assert css, "the admin links its stylesheet under a content-hashed name"

    response = requests.get(
        served.url + css.group(1), headers={**PROXIED, "Accept-Encoding": "gzip"}, timeout=10
    )
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/css")
    assert response.headers["Content-Encoding"] == "gzip"
    assert "immutable" in response.headers["Cache-Control"]
    assert "max-age=315360000" in response.headers["Cache-Control"]
    assert "DJANGO Admin styles" in response.text


def test_a_probe_over_plain_http_with_an_internal_host_gets_health(served):
    response = requests.get(
        served.url + "/healthz", headers={"Host": "10.1.2.3:8000"}, allow_redirects=False
    )
    assert response.status_code == 200
    assert response.json() == {
        "status": "ok",
        "database": "ok",
        "sync": {
            "backlog": 0,
            "oldest_pending_age_seconds": None,
            "failed": 0,
            "sites_needing_attention": 0,
            "sites_paused": 0,
        },
    }
    # The rest of the site still insists on HTTPS and on its own host name.
    page = requests.get(served.url + "/admin/login/", headers={"Host": HOST}, allow_redirects=False)
    assert page.status_code == 301
    assert page.headers["Location"] == f"https://{HOST}/admin/login/"


def test_gunicorn_logs_json_lines_without_query_strings_or_tokens(served, tmp_path):
    url = served.url + f"/jira/operations/workspaces?jwt={TOKEN}&workspaceId=ws-1"
    referer = f"https://{HOST}/reviews/create?jwt={TOKEN}"
    response = requests.get(url, headers={**PROXIED, "Referer": referer}, timeout=10)
    assert response.status_code == 401
    assert TOKEN not in response.text

    # The access line, as JSON: its message's quotes are escaped.
    output = wait_for_log(served, r"GET /jira/operations/workspaces HTTP/1.1\" 401 ")
    assert TOKEN not in output
    assert "jwt=" not in output
    assert "workspaceId" not in output
    lines = [json.loads(line) for line in output.splitlines() if line.strip()]
    access = [line for line in lines if line["logger"] == "gunicorn.access"]
    assert any(
        line["message"].startswith('127.0.0.1 "GET /jira/operations/workspaces HTTP/1.1" 401 ')
        for line in access
    )
    assert {line["logger"] for line in lines} >= {"gunicorn.error", "gunicorn.access"}


def test_health_is_503_when_the_database_does_not_answer(tmp_path):
    port = free_port()
    env = serving_env(tmp_path, DATABASE_URL=f"postgres://portal:pw@127.0.0.1:{port}/portal")
    server = start_gunicorn(env, tmp_path / "gunicorn.log")
    try:
        response = requests.get(server.url + "/healthz", timeout=10)
    finally:
        output = server.stop()
    assert response.status_code == 503
    assert response.json() == {"status": "error", "database": "unavailable", "sync": None}
    assert str(port) not in response.text
    assert "Health check: the database does not answer" in output


def test_health_is_503_when_the_database_was_never_migrated(tmp_path):
    server = start_gunicorn(serving_env(tmp_path), tmp_path / "gunicorn.log")
    try:
        response = requests.get(server.url + "/healthz", timeout=10)
    finally:
        server.stop()
    assert response.status_code == 503
    assert response.json() == {"status": "error", "database": "ok", "sync": None}


def test_check_deploy_is_clean_with_the_documented_production_variables():
    result = run_check(
        production_env(
            LOG_FORMAT="json",
            LOG_LEVEL="INFO",
            TRUST_X_FORWARDED_PROTO="true",
            USE_X_FORWARDED_HOST="false",
            STATIC_FILES_MANIFEST="true",
            HEALTHZ_MAX_BACKLOG_AGE_SECONDS="300",
            CSRF_TRUSTED_ORIGINS="https://ops.example.com",
        )
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


def test_an_unknown_log_format_stops_the_portal_with_the_setting_named(tmp_path):
    result = subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=ROOT,
        env=serving_env(tmp_path, LOG_FORMAT="yaml"),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert "LOG_FORMAT must be one of text, json, not 'yaml'" in result.stderr
