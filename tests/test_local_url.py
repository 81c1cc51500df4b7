"""`make run PORT=…` and `make demo PORT=…` serve a descriptor whose baseUrl is the address they
serve, unless CONNECT_BASE_URL is set (environment or .env)."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from contextlib import suppress
from pathlib import Path

import pytest

from portal.demo import DemoConfig, child_env
from portal.local_url import explicit_base_url, local_base_url, main

REPO = Path(__file__).resolve().parents[1]
STARTUP_SECONDS = 90


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# --- The rule ------------------------------------------------------------------------------------


def test_without_a_setting_the_base_url_is_the_address_served(tmp_path):
    assert local_base_url("127.0.0.1", 8012, {}, tmp_path / ".env") == "http://127.0.0.1:8012"


def test_a_server_on_every_interface_is_reached_on_loopback(tmp_path):
    assert local_base_url("0.0.0.0", 8012, {}, tmp_path / ".env") == "http://127.0.0.1:8012"  # noqa: S104
    assert local_base_url("::", 8012, {}, tmp_path / ".env") == "http://[::1]:8012"
    assert local_base_url("localhost", 9000, {}, tmp_path / ".env") == "http://localhost:9000"


def test_the_environment_wins(tmp_path):
    env_file = tmp_path / ".env"
    env_file.write_text("CONNECT_BASE_URL=https://from-dotenv.example.com\n")
    environment = {"CONNECT_BASE_URL": "https://ops.example.com/"}
    assert local_base_url("127.0.0.1", 8012, environment, env_file) == "https://ops.example.com"


def test_dotenv_is_kept_when_the_environment_does_not_set_it(tmp_path):
    env_file = tmp_path / ".env"
    env_file.write_text("SECRET_KEY=x\nCONNECT_BASE_URL='https://tunnel.example.com'\n")
    assert local_base_url("127.0.0.1", 8012, {}, env_file) == "https://tunnel.example.com"


def test_an_empty_or_commented_setting_counts_as_unset(tmp_path):
    env_file = tmp_path / ".env"
    env_file.write_text("# CONNECT_BASE_URL=https://ops.example.com\nDEBUG=true\n")
    assert explicit_base_url({"CONNECT_BASE_URL": " "}, env_file) == ""
    assert local_base_url("127.0.0.1", 8012, {"CONNECT_BASE_URL": ""}, env_file) == (
        "http://127.0.0.1:8012"
    )


@pytest.mark.parametrize("argv", [[], ["127.0.0.1"], ["127.0.0.1", "http"], ["h", "70000"]])
def test_the_command_refuses_a_bad_port_with_usage(argv, capsys):
    assert main(argv) == 2
    assert "usage: python -m portal.local_url HOST PORT" in capsys.readouterr().err


def test_the_demo_always_uses_its_own_address():
    """The demo installs itself into its own jirasim, so its descriptor must point at itself,
    whatever .env says."""
    config = DemoConfig(data_dir=Path("/nonexistent"), port=8012, jirasim_port=8112)
    env = child_env(config, base={"CONNECT_BASE_URL": "https://ops.example.com"})
    assert env["CONNECT_BASE_URL"] == "http://127.0.0.1:8012"


# --- `make run` itself ---------------------------------------------------------------------------


def make_run(tmp_path: Path, port: int, **env: str) -> dict:
    """Start `make run` on `port` with a database in tmp_path; its descriptor once it answers."""
    environment = {
        key: value
        for key, value in os.environ.items()
        if key not in {"CONNECT_BASE_URL", "MAKEFLAGS", "MAKELEVEL"}
    }
    environment.update(DATABASE_URL=f"sqlite:///{tmp_path / 'portal.sqlite3'}", **env)
    log = (tmp_path / "make-run.log").open("w")
    process = subprocess.Popen(
        [
            "make",
            "--no-print-directory",
            # Installed already (this test runs in it); no .env written into the checkout.
            "-o",
            ".venv/.installed",
            "-o",
            ".env",
            "run",
            "HOST=127.0.0.1",
            f"PORT={port}",
            f"PY={sys.executable}",
            f"ADMIN_PASSWORD_FILE={tmp_path / 'admin-password.txt'}",
        ],
        cwd=REPO,
        env=environment,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + STARTUP_SECONDS
        while time.monotonic() < deadline:
            assert process.poll() is None, (tmp_path / "make-run.log").read_text()
            with (
                suppress(OSError),
                urllib.request.urlopen(
                    f"http://127.0.0.1:{port}/atlassian-connect.json", timeout=2
                ) as response,
            ):
                return json.load(response)
            time.sleep(0.2)
        pytest.fail(f"make run did not serve within {STARTUP_SECONDS} s")
    finally:
        with suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        log.close()


needs_make = pytest.mark.skipif(shutil.which("make") is None, reason="needs make")


@needs_make
def test_make_run_on_another_port_describes_that_port(tmp_path):
    if explicit_base_url({}):
        pytest.skip("this checkout's .env sets CONNECT_BASE_URL, which make run rightly keeps")
    port = free_port()
    descriptor = make_run(tmp_path, port)
    assert descriptor["baseUrl"] == f"http://127.0.0.1:{port}"
    assert descriptor["modules"]["jiraOperationsInfoProvider"]["actions"]["fetchWorkspaces"][
        "templateUrl"
    ].startswith(f"http://127.0.0.1:{port}/")


@needs_make
def test_make_run_keeps_a_base_url_set_in_the_environment(tmp_path):
    descriptor = make_run(tmp_path, free_port(), CONNECT_BASE_URL="https://ops.example.com")
    assert descriptor["baseUrl"] == "https://ops.example.com"
