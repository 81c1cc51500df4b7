"""`make demo`: it wires jirasim, the portal and a worker together, runs again without
duplicating anything, and refuses a second copy or a taken port before starting anything."""

import re
import socket
import subprocess

import pytest
import requests
from django.core.management import CommandError, call_command

from incidents.demo import INCIDENTS
from portal.demo import DemoLock, port_in_use

from .support import DemoProcess, free_port, wait_for

DEMO_SUMMARIES = {item.external_id: item.summary for item in INCIDENTS}
DEMO_INCIDENTS = set(DEMO_SUMMARIES)
EDITED_SUMMARY = "Ledger reconciliation back on schedule"
EDIT_INC_2042 = (
    "from incidents.models import Incident\n"
    "incident = Incident.objects.get(external_id='INC-2042')\n"
    f"incident.summary = {EDITED_SUMMARY!r}\n"
    "incident.save()\n"
)


@pytest.fixture
def taken_port():
    """A port another program is listening on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield sock.getsockname()[1]


def demo(data_dir, port, jirasim_port):
    call_command("demo", port=port, jirasim_port=jirasim_port, data_dir=str(data_dir))


def assert_nothing_started(data_dir, *ports):
    assert not (data_dir / "portal.sqlite3").exists()
    assert not any(port_in_use("127.0.0.1", port) for port in ports)
    DemoLock(data_dir / "demo.lock").acquire("test: the refused demo let go of its lock")


def suggested_port(message: str, variable: str) -> int:
    found = re.search(rf"`make demo {variable}=(\d+)`", message)
    assert found, message
    return int(found.group(1))


def test_a_taken_portal_port_is_refused_with_a_free_one_to_use_instead(tmp_path, taken_port):
    jirasim_port = free_port()
    with pytest.raises(CommandError) as refused:
        demo(tmp_path, taken_port, jirasim_port)
    message = str(refused.value)
    assert f"port {taken_port} (for the portal) is in use (another `make demo` or `make run`?)" in (
        message
    )
    instead = suggested_port(message, "PORT")
    assert instead not in (taken_port, jirasim_port)
    assert not port_in_use("127.0.0.1", instead)
    assert_nothing_started(tmp_path, jirasim_port)


def test_a_taken_jirasim_port_is_refused(tmp_path, taken_port):
    port = free_port()
    with pytest.raises(CommandError) as refused:
        demo(tmp_path, port, taken_port)
    message = str(refused.value)
    assert f"port {taken_port} (for jirasim) is in use" in message
    assert suggested_port(message, "JIRASIM_PORT") != taken_port
    assert "PORT=" not in message.replace("JIRASIM_PORT=", "")
    assert_nothing_started(tmp_path, port)


def test_a_second_demo_on_the_same_data_is_refused_and_named(tmp_path):
    running = DemoLock(tmp_path / "demo.lock")
    running.acquire("pid 4242, portal http://127.0.0.1:8000, jirasim http://127.0.0.1:8100")
    port, jirasim_port = free_port(), free_port()
    with pytest.raises(CommandError) as refused:
        demo(tmp_path, port, jirasim_port)
    assert "a demo is already running" in str(refused.value)
    assert "pid 4242, portal http://127.0.0.1:8000" in str(refused.value)
    assert not (tmp_path / "portal.sqlite3").exists()
    running.release()


def test_one_port_for_both_servers_is_refused(tmp_path):
    port = free_port()
    with pytest.raises(CommandError, match=f"cannot both use port {port}"):
        demo(tmp_path, port, port)
    assert_nothing_started(tmp_path, port)


@pytest.mark.parametrize("option", ["port", "jirasim_port"])
def test_a_port_out_of_range_is_refused(tmp_path, option):
    ports = {"port": free_port(), "jirasim_port": free_port(), option: 70000}
    with pytest.raises(CommandError, match="70000 is not a TCP port"):
        demo(tmp_path, **ports)


def test_a_setting_the_portal_refuses_stops_the_demo_with_the_reason(tmp_path, monkeypatch):
    monkeypatch.setenv("CONNECT_APP_KEY", "not a valid key!")
    port, jirasim_port = free_port(), free_port()
    with pytest.raises(CommandError) as failed:
        demo(tmp_path, port, jirasim_port)
    assert "The demo failed: `manage.py migrate --no-input` failed" in str(failed.value)
    assert "CONNECT_APP_KEY" in str(failed.value)
    assert not port_in_use("127.0.0.1", jirasim_port)
    DemoLock(tmp_path / "demo.lock").acquire("test: the failed demo let go of its lock")


def admin_login(output: str) -> tuple[str, str]:
    found = re.search(r"\(user (\S+), password (\S+)\)", output)
    assert found, output
    return found.group(1), found.group(2)


def log_in(portal_url: str, username: str, password: str) -> requests.Session:
    session = requests.Session()
    session.get(f"{portal_url}/admin/login/", timeout=10).raise_for_status()
    response = session.post(
        f"{portal_url}/admin/login/?next=/admin/",
        data={
            "username": username,
            "password": password,
            "csrfmiddlewaretoken": session.cookies["csrftoken"],
        },
        timeout=10,
    )
    assert response.ok and "Site administration" in response.text, "the printed login works"
    return session


@pytest.mark.slow
def test_the_demo_wires_everything_together_and_runs_again_without_duplicates(tmp_path):
    data_dir = tmp_path / "demo"
    first = DemoProcess(data_dir).start()
    config = first.config
    try:
        site = next(s for s in first.sim_state()["sites"] if s["name"] == "default")
        [installed] = site["installations"]
        assert installed["appBaseUrl"] == config.portal_url, "installed by the signed handshake"
        assert set(first.jira_incidents()) >= DEMO_INCIDENTS
        login = admin_login(first.output)
        log_in(config.portal_url, *login)
        assert config.portal_url + "/admin/" in first.output
        assert config.jirasim_url + "/" in first.output

        first.shell(EDIT_INC_2042)
        wait_for(
            lambda: first.jira_incidents()["INC-2042"]["summary"] == EDITED_SUMMARY,
            timeout=15,
            message="an edit in the portal reaches jirasim within seconds",
        )
        assert EDITED_SUMMARY in requests.get(config.jirasim_url + "/", timeout=5).text

        again = subprocess.run(first.command(), capture_output=True, text=True, timeout=60)
        assert again.returncode == 1
        assert "a demo is already running" in again.stderr
        elsewhere = DemoProcess(tmp_path / "other", config.port, config.jirasim_port)
        beside = subprocess.run(elsewhere.command(), capture_output=True, text=True, timeout=60)
        assert beside.returncode == 1
        assert f"port {config.port} (for the portal) is in use" in beside.stderr
        assert f"port {config.jirasim_port} (for jirasim) is in use" in beside.stderr
    finally:
        code = first.stop()
    assert code == 0, first.output
    assert "Demo stopped." in first.output
    assert not port_in_use("127.0.0.1", config.port)
    assert not port_in_use("127.0.0.1", config.jirasim_port)

    second = DemoProcess(data_dir, config.port, config.jirasim_port).start()
    try:
        # The demo incident edited above is put back as described; nothing else changes.
        assert "Demo data ready: 0 created, 1 updated, " in second.output
        assert " 0 site links added" in second.output
        assert admin_login(second.output) == login
        jira = second.jira_incidents()  # a fresh jirasim, refilled by the re-install
        assert set(jira) >= DEMO_INCIDENTS
        assert jira["INC-2042"]["summary"] == DEMO_SUMMARIES["INC-2042"]
        count = "from connect.models import Installation; print(Installation.objects.count())"
        assert second.shell(count).strip() == "1", "the same Jira site, not a second one"
    finally:
        assert second.stop() == 0, second.output
