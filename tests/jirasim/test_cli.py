"""``python -m jirasim``: serve, and drive a running simulator through its control API."""

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from jirasim.cli import main
from tests.jirasim.fakeapp import FakeApp
from tests.ports import free_port

ROOT = Path(__file__).resolve().parents[2]


def run(capsys, sim, *args):
    code = main([args[0], "--server", sim.url, *args[1:]])
    return code, json.loads(capsys.readouterr().out)


@pytest.fixture
def fake_app(sim):
    with FakeApp(keys_url=sim.install_keys_url) as app:
        app.replies["/actions/fetchWorkspaces"] = {"workspaces": [{"id": "w1", "name": "W"}]}
        app.replies["/actions/searchContainers"] = {"containers": [{"id": "c1", "name": "C"}]}
        yield app


def test_install_act_and_uninstall_from_the_command_line(capsys, sim, fake_app):
    code, result = run(capsys, sim, "install", fake_app.descriptor_url)
    assert code == 0 and result["ok"]
    code, result = run(capsys, sim, "fetch-workspaces", "w1")
    assert code == 0 and result["data"]["workspaces"][0]["id"] == "w1"
    code, result = run(capsys, sim, "search-containers", "my db", "--workspace-id", "w1")
    assert code == 0
    assert fake_app.calls_to("/searchContainers")[0].query == "searchQuery=my%20db&workspaceId=w1"
    assert run(capsys, sim, "associate", "c1", "10000", "--user", "acc-1")[0] == 0
    assert fake_app.calls_to("/onEntityAssociated")[0].body["user"] == {"id": "acc-1"}
    assert run(capsys, sim, "disassociate", "c1", "10000")[0] == 0
    code, result = run(capsys, sim, "uninstall")
    assert code == 0 and result["event"] == "uninstalled"
    assert all(call.verified for call in fake_app.calls)


def test_state_log_reset_sites_and_faults_from_the_command_line(capsys, sim):
    assert run(capsys, sim, "create-site", "acme", "--project", "OPS=10000")[1]["projects"] == {
        "OPS": "10000"
    }
    assert [s["name"] for s in run(capsys, sim, "state")[1]["sites"]] == ["default", "acme"]
    assert run(capsys, sim, "faults", "--fail-rate", "0.5", "--seed", "4")[1]["fail_rate"] == 0.5
    assert run(capsys, sim, "faults")[1]["seed"] == 4
    assert run(capsys, sim, "faults", "--clear")[1]["fail_rate"] == 0
    requests.get(f"{sim.url}/rest/operations/1.0/linkedWorkspaces", timeout=5)
    assert len(run(capsys, sim, "log", "--limit", "5")[1]["entries"]) == 1
    assert run(capsys, sim, "reset")[0] == 0
    assert run(capsys, sim, "log")[1]["entries"] == []
    assert run(capsys, sim, "rotate-install-key")[1]["kid"].startswith("jirasim-")


def test_a_failing_command_exits_non_zero(capsys, sim):
    code, result = run(capsys, sim, "uninstall")
    assert code == 1
    assert "installed" in result["error"]


def test_an_unreachable_simulator_exits_2(capsys):
    assert main(["state", "--server", f"http://127.0.0.1:{free_port()}"]) == 2
    assert "cannot reach jirasim" in capsys.readouterr().err


def test_serve_starts_a_simulator_with_the_given_faults_and_sites():
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "jirasim", "serve", "--port", str(port), "--site", "second",
         "--down", "--retry-after", "7"],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        url = f"http://127.0.0.1:{port}"
        for _ in range(100):
            try:
                state = requests.get(f"{url}/_sim/state", timeout=1).json()
                break
            except requests.ConnectionError:
                time.sleep(0.05)
        assert state["url"] == url
        assert [site["name"] for site in state["sites"]] == ["default", "second"]
        response = requests.get(
            f"{url}/site/second/rest/operations/1.0/linkedWorkspaces", timeout=5
        )
        assert response.status_code == 503 and response.headers["Retry-After"] == "7"
    finally:
        server.terminate()
        output, _ = server.communicate(timeout=10)
    assert f"CONNECT_INSTALL_KEYS_URL={url}/_sim/install-keys" in output
