"""`make demo`: jirasim, the portal and a sync worker, wired together on a database of their own.

The portal and the worker run as `manage.py runserver` and `manage.py jira_sync` processes, with
settings that make the portal trust jirasim's signed installs; jirasim runs in this process. The
portal is installed into jirasim through the signed handshake, then `seed_demo --link-all-sites`
fills the demo database and links its workspaces to the simulated site.

jirasim keeps everything in memory, so its site would get a new clientKey on every start and the
portal would collect stale sites. Instead the site's identity (clientKey, cloudId) is kept in the
data directory: a second run re-installs the *same* site, and the portal answers a re-install by
resending that site's whole history. Running the demo again therefore duplicates nothing.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from incidents.demo import INCIDENTS, REVIEWS
from jirasim.server import SimulatorHTTPServer, make_server, start_in_thread
from jirasim.simulator import Simulator

MANAGE_PY = Path(__file__).resolve().parent.parent / "manage.py"
READY_BANNER = "Demo ready."
STARTUP_TIMEOUT_SECONDS = 90.0
SYNC_TIMEOUT_SECONDS = 60.0


class DemoRefused(Exception):
    """The demo cannot start as asked; the message says why and what to do. Nothing started."""


class DemoFailed(Exception):
    """Something the demo started did not come up or stopped on its own."""


@dataclass(frozen=True)
class DemoConfig:
    data_dir: Path
    port: int = 8000
    jirasim_port: int = 8100
    host: str = "127.0.0.1"
    poll_interval: float = 1.0

    @property
    def portal_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def jirasim_url(self) -> str:
        return f"http://{self.host}:{self.jirasim_port}"

    @property
    def database_path(self) -> Path:
        return self.data_dir / "portal.sqlite3"

    @property
    def password_file(self) -> Path:
        return self.data_dir / "admin-password.txt"

    @property
    def site_file(self) -> Path:
        return self.data_dir / "jira-site.json"

    @property
    def lock_file(self) -> Path:
        return self.data_dir / "demo.lock"

    @property
    def portal_log(self) -> Path:
        return self.data_dir / "portal.log"


def child_env(config: DemoConfig, base: dict[str, str] | None = None) -> dict[str, str]:
    """The environment of the demo's `manage.py` processes: its own database, plain HTTP on
    loopback, and trust in jirasim's install keys. Values from `.env` and the environment are
    kept for everything else (SECRET_KEY, the app key, ...)."""
    env = dict(os.environ if base is None else base)
    env.update(
        DATABASE_URL=f"sqlite:///{config.database_path.resolve()}",
        DEBUG="true",
        ALLOWED_HOSTS=f"{config.host},localhost",
        SECURE_SSL_REDIRECT="false",
        SESSION_COOKIE_SECURE="false",
        CSRF_COOKIE_SECURE="false",
        SECURE_HSTS_SECONDS="0",
        STATIC_FILES_MANIFEST="false",
        CONNECT_BASE_URL=config.portal_url,
        CONNECT_VENDOR_URL=config.portal_url,
        CONNECT_INSTALL_KEYS_URL=f"{config.jirasim_url}/_sim/install-keys",
        CONNECT_ALLOWED_SITE_HOSTS=config.host,
        PYTHONUNBUFFERED="1",
    )
    return env


# --- Refusals before anything starts ---------------------------------------------------------


def port_in_use(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        # As the servers themselves bind: a port left in TIME_WAIT is free, a listener is not.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError as exc:
            if exc.errno in (errno.EADDRINUSE, errno.EACCES):
                return True
            raise
    return False


def next_free_port(host: str, port: int, taken: Iterable[int] = ()) -> int:
    """The first free port above `port`, to suggest instead of a taken one."""
    candidate = port + 1
    while candidate in set(taken) or port_in_use(host, candidate):
        candidate += 1
    return candidate


def port_problems(config: DemoConfig) -> list[str]:
    """One sentence per taken port, each with the command that avoids it."""
    problems = []
    wanted = (config.port, config.jirasim_port)
    if config.port == config.jirasim_port:
        return [
            f"the portal and jirasim cannot both use port {config.port}: run "
            f"`make demo JIRASIM_PORT={next_free_port(config.host, config.port)}`"
        ]
    checks = (
        (config.port, "the portal", "`make run`", "PORT", "--port"),
        (config.jirasim_port, "jirasim", "`jirasim serve`", "JIRASIM_PORT", "--jirasim-port"),
    )
    for port, what, other, variable, flag in checks:
        if port_in_use(config.host, port):
            free = next_free_port(config.host, port, taken=wanted)
            problems.append(
                f"port {port} (for {what}) is in use (another `make demo` or {other}?): stop it, "
                f"or run `make demo {variable}={free}` (`manage.py demo {flag} {free}`)"
            )
    return problems


class DemoLock:
    """One demo per data directory: a lock held for the demo's lifetime, released by the OS if
    the process dies, naming the running demo to anyone who tries a second one."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.handle: IO[str] | None = None

    def acquire(self, description: str) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        handle = open(self.path, "a+")  # noqa: SIM115 (held open until release())
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "another process"
            handle.close()
            raise DemoRefused(
                f"a demo is already running with this data directory ({holder}): use that one, "
                "or stop it with Ctrl-C in its terminal first"
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(description)
        handle.flush()
        self.handle = handle

    def release(self) -> None:
        if self.handle is not None:
            self.handle.seek(0)
            self.handle.truncate()
            fcntl.flock(self.handle, fcntl.LOCK_UN)
            self.handle.close()
            self.handle = None


# --- The running demo ----------------------------------------------------------------------------


class Demo:
    """Start, watch and stop the demo's three parts. `start()` then `watch()`; always `stop()`."""

    def __init__(self, config: DemoConfig, write: Callable[[str], None]) -> None:
        self.config = config
        self.write = write
        self.env = child_env(config)
        self.lock = DemoLock(config.lock_file)
        self.simulator: Simulator | None = None
        self.server: SimulatorHTTPServer | None = None
        self.processes: dict[str, subprocess.Popen] = {}
        self.log_files: list[IO] = []

    # Checks ---------------------------------------------------------------------------------

    def preflight(self) -> None:
        """Refuse, before starting anything, a second demo or a taken port."""
        config = self.config
        self.lock.acquire(
            f"pid {os.getpid()}, portal {config.portal_url}, jirasim {config.jirasim_url}"
        )
        problems = port_problems(config)
        if problems:
            self.lock.release()
            raise DemoRefused("; ".join(problems))

    # Start ----------------------------------------------------------------------------------

    def start(self) -> None:
        config = self.config
        self.write(f"Demo data in {config.data_dir} (the `make run` database is not touched).")
        self._manage("migrate", "--no-input")
        self._manage("ensure_admin", "--password-file", str(config.password_file))
        self._start_jirasim()
        self.write(f"- jirasim (a simulated Jira Cloud site) serving {config.jirasim_url}/")
        self._start_portal()
        self.write(f"- portal serving {config.portal_url}/ (log: {config.portal_log})")
        self._install()
        self._start_worker()
        self.write(f"- sync worker running, looking for changes every {config.poll_interval:g} s")
        seeded = self._manage("seed_demo", "--link-all-sites").strip().splitlines()
        self.write(f"- {seeded[-1] if seeded else 'demo data ready'}")
        self._wait_for_sync()
        self.write(self.banner())

    def _manage(self, *args: str) -> str:
        """Run a management command on the demo database; its output, or DemoFailed."""
        result = subprocess.run(  # noqa: S603 (our own manage.py, fixed arguments)
            [sys.executable, str(MANAGE_PY), *args],
            env=self.env,
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode != 0:
            raise DemoFailed(f"`manage.py {' '.join(args)}` failed:\n{result.stderr.strip()}")
        return result.stdout

    def _start_jirasim(self) -> None:
        simulator = Simulator(public_url=self.config.jirasim_url)
        site = simulator.site()
        saved = self._saved_site()
        if saved:
            site.client_key, site.cloud_id = saved["clientKey"], saved["cloudId"]
        else:
            self.config.site_file.write_text(
                json.dumps({"clientKey": site.client_key, "cloudId": site.cloud_id}) + "\n"
            )
        try:
            self.server = make_server(simulator, self.config.host, self.config.jirasim_port)
        except OSError as exc:
            raise DemoFailed(f"jirasim cannot listen on {self.config.jirasim_url}: {exc}") from exc
        start_in_thread(self.server)
        self.simulator = simulator

    def _saved_site(self) -> dict | None:
        try:
            saved = json.loads(self.config.site_file.read_text())
        except (OSError, ValueError):
            return None
        if isinstance(saved, dict) and all(
            isinstance(saved.get(k), str) and saved[k] for k in ("clientKey", "cloudId")
        ):
            return saved
        return None

    def _start_portal(self) -> None:
        log = open(self.config.portal_log, "a")  # noqa: SIM115 (closed in stop())
        self.log_files.append(log)
        address = f"{self.config.host}:{self.config.port}"
        self.processes["portal"] = subprocess.Popen(  # noqa: S603
            [sys.executable, str(MANAGE_PY), "runserver", "--noreload", address],
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        descriptor_url = f"{self.config.portal_url}/atlassian-connect.json"
        deadline = time.monotonic() + STARTUP_TIMEOUT_SECONDS
        while time.monotonic() < deadline:
            self._check_alive()
            # urllib, not requests: connect.client is the only module that imports requests.
            # OSError: not listening yet, or an error page. S310: our own http URL.
            with (
                contextlib.suppress(OSError),
                urllib.request.urlopen(descriptor_url, timeout=2) as response,  # noqa: S310
            ):
                if response.status == 200:
                    return
            time.sleep(0.2)
        raise DemoFailed(f"the portal did not answer within {STARTUP_TIMEOUT_SECONDS:g} s")

    def _install(self) -> None:
        assert self.simulator is not None
        result = self.simulator.install(f"{self.config.portal_url}/atlassian-connect.json")
        if not result.ok:
            raise DemoFailed(
                f"jirasim could not install the portal: {result.message} "
                f"(see {self.config.portal_log})"
            )
        self.write(
            "- portal installed into jirasim through the signed handshake "
            f"(site clientKey {self.simulator.site().client_key})"
        )

    def _start_worker(self) -> None:
        process = subprocess.Popen(  # noqa: S603
            [
                sys.executable,
                str(MANAGE_PY),
                "jira_sync",
                "--poll-interval",
                str(self.config.poll_interval),
                "--worker-id",
                "demo",
            ],
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.processes["worker"] = process

        def relay_output() -> None:
            assert process.stdout is not None
            for line in process.stdout:
                self.write(f"  worker: {line.rstrip()}")

        threading.Thread(target=relay_output, name="demo-worker-output", daemon=True).start()

    def _wait_for_sync(self) -> None:
        """Until jirasim holds every demo incident as seeded (and every review), so the banner is
        true: a re-run resends the old version first, then the one the seed put back."""
        assert self.simulator is not None
        seeded = {item.external_id: (item.summary, item.status) for item in INCIDENTS}
        wanted_reviews = {item.external_id for item in REVIEWS}
        deadline = time.monotonic() + SYNC_TIMEOUT_SECONDS
        while time.monotonic() < deadline:
            self._check_alive()
            incidents, reviews = self.simulator.incidents(), self.simulator.reviews()
            held = {
                key: (incidents[key].get("summary"), incidents[key].get("status"))
                for key in seeded
                if key in incidents
            }
            if held == seeded and wanted_reviews <= set(reviews):
                self.write(f"- jirasim holds {len(incidents)} incidents and {len(reviews)} reviews")
                return
            time.sleep(0.2)
        self.write(
            "- jirasim has not received all the demo data yet; the worker's messages above say why"
        )

    def admin_login(self) -> tuple[str, str] | None:
        try:
            username, password = self.config.password_file.read_text().split()[:2]
        except (OSError, ValueError):
            return None
        return username, password

    def banner(self) -> str:
        config = self.config
        login = self.admin_login()
        login_text = (
            f"user {login[0]}, password {login[1]}"
            if login
            else f"the admin login made earlier ({config.password_file} is gone: "
            "reset it with `manage.py changepassword admin` on the demo database)"
        )
        return "\n".join(
            [
                "",
                READY_BANNER,
                f"  Portal admin:        {config.portal_url}/admin/   ({login_text})",
                f"  Jira Incidents page: {config.jirasim_url}/   (jirasim; reload to refresh)",
                "  Try it: in the admin open Incidents, pick one (say INC-2042), change its status",
                "  or summary and save; reload jirasim's page: the change is there within seconds.",
                "Ctrl-C stops everything.",
                "",
            ]
        )

    # Watch and stop ---------------------------------------------------------------------------

    def _check_alive(self) -> None:
        for name, process in self.processes.items():
            code = process.poll()
            if code is not None:
                where = "its messages are above"
                if name == "portal":
                    where = f"the end of {self.config.portal_log}:\n{self._log_tail()}"
                raise DemoFailed(f"the {name} stopped unexpectedly (exit code {code}); {where}")

    def _log_tail(self, lines: int = 5) -> str:
        try:
            text = self.config.portal_log.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.rstrip().splitlines()[-lines:])

    def watch(self, interval: float = 0.5) -> None:
        """Block until interrupted (KeyboardInterrupt) or until a part stops on its own."""
        while True:
            self._check_alive()
            time.sleep(interval)

    def stop(self, timeout: float = 15.0) -> None:
        for process in self.processes.values():
            if process.poll() is None:
                process.terminate()
        deadline = time.monotonic() + timeout
        for process in self.processes.values():
            try:
                process.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None
        for log in self.log_files:
            log.close()
        self.log_files.clear()
        self.lock.release()
