"""A `manage.py demo` in a subprocess, on free ports and a data directory of the test's own."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import requests

from portal.demo import MANAGE_PY, READY_BANNER, DemoConfig, child_env
from tests.ports import free_port

READY_TIMEOUT_SECONDS = 120


class DemoProcess:
    """Start the demo as `make demo` does and read what it prints, line by line."""

    def __init__(self, data_dir: Path, port: int | None = None, jirasim_port: int | None = None):
        self.config = DemoConfig(
            data_dir=data_dir, port=port or free_port(), jirasim_port=jirasim_port or free_port()
        )
        self.lines: list[str] = []
        self.process: subprocess.Popen | None = None
        self._ready = threading.Event()

    @property
    def output(self) -> str:
        return "\n".join(self.lines)

    def command(self) -> list[str]:
        return [
            sys.executable,
            str(MANAGE_PY),
            "demo",
            "--port",
            str(self.config.port),
            "--jirasim-port",
            str(self.config.jirasim_port),
            "--data-dir",
            str(self.config.data_dir),
        ]

    def start(self) -> DemoProcess:
        self.process = subprocess.Popen(
            self.command(),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,  # signals reach it only when the test sends them
        )
        threading.Thread(target=self._read, daemon=True).start()
        deadline = time.monotonic() + READY_TIMEOUT_SECONDS
        while not self._ready.wait(0.2):
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise AssertionError(f"the demo did not get ready:\n{self.output}")
        return self

    def _read(self) -> None:
        assert self.process is not None and self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append(line.rstrip("\n"))
            if line.strip() == READY_BANNER:
                self._ready.set()

    def stop(self, timeout: float = 30) -> int:
        """Ctrl-C, as a user would; the exit code."""
        assert self.process is not None
        if self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGINT)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
                raise AssertionError(
                    f"the demo did not stop within {timeout} s:\n{self.output}"
                ) from None
        return self.process.returncode

    def manage(self, *args: str) -> str:
        """A management command on the demo's database; its output."""
        result = subprocess.run(
            [sys.executable, str(MANAGE_PY), *args],
            env=child_env(self.config),
            capture_output=True,
            text=True,
            check=False,
        )
        assert result.returncode == 0, result.stderr
        return result.stdout

    def shell(self, code: str) -> str:
        return self.manage("shell", "--no-imports", "-c", code)

    def sim_state(self) -> dict:
        response = requests.get(f"{self.config.jirasim_url}/_sim/state", timeout=5)
        response.raise_for_status()
        return response.json()

    def jira_incidents(self) -> dict[str, dict]:
        """The incidents the demo's default site holds, by id."""
        site = next(s for s in self.sim_state()["sites"] if s["name"] == "default")
        return {
            incident_id: entity["data"]
            for app in site["apps"].values()
            for incident_id, entity in app["incidents"].items()
        }


def wait_for(condition, timeout: float = 30, interval: float = 0.25, message: str = ""):
    """Poll `condition` until it returns something truthy; that value."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(message or f"not true within {timeout} s")
        time.sleep(interval)
