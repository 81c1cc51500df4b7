"""Serve a :class:`~jirasim.simulator.Simulator` over HTTP/1.1 with the standard library."""

from __future__ import annotations

import contextlib
import logging
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

from jirasim import contract
from jirasim.simulator import Simulator
from jirasim.wire import Request, Response

logger = logging.getLogger("jirasim")


class SimulatorHTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], simulator: Simulator) -> None:
        self.simulator = simulator
        super().__init__(address, Handler)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "jirasim"
    sys_version = ""
    # Headers and body are separate writes; without TCP_NODELAY each answer waits ~40 ms for
    # the client's delayed ACK.
    disable_nagle_algorithm = True
    server: SimulatorHTTPServer

    def do_GET(self) -> None:
        self._serve()

    do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = do_GET

    def _serve(self) -> None:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            self.close_connection = True
            self._write(Response.errors(411, "Send the body with a Content-Length."))
            return
        length = self.headers.get("Content-Length", "0")
        if not length.isdigit():
            self._write(Response.errors(400, "Content-Length must be a number"))
            return
        if int(length) > contract.MAX_BODY_BYTES:
            self.close_connection = True
            self._write(Response.errors(413, "Data is too large."))
            return
        body = self.rfile.read(int(length)) if int(length) else b""
        parts = urlsplit(self.path)
        request = Request(
            method=self.command,
            path=parts.path,
            query=parts.query,
            headers={name.lower(): value for name, value in self.headers.items()},
            body=body,
        )
        try:
            response = self.server.simulator.handle(request)
        except Exception:
            logger.exception("jirasim failed on %s %s", self.command, parts.path)
            response = Response.errors(500, "The simulator failed; see its console.")
        if response.delay:
            time.sleep(response.delay)
        if response.drop:
            self._drop()
            return
        self._write(response)

    def _drop(self) -> None:
        """Close the connection without a byte of answer, as a failing proxy would."""
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)

    def _write(self, response: Response) -> None:
        self.send_response(response.status)
        self.send_header("Content-Type", response.content_type)
        self.send_header("Content-Length", str(len(response.body)))
        self.send_header("Cache-Control", "no-store")
        for name, value in response.headers.items():
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD" and response.body:
            self.wfile.write(response.body)

    def log_message(self, format: str, *args) -> None:
        logger.debug("%s " + format, self.address_string(), *args)


def make_server(
    simulator: Simulator, host: str = "127.0.0.1", port: int = 0
) -> SimulatorHTTPServer:
    """Bind a server; with port 0 a free port is chosen and the simulator's URL follows it."""
    server = SimulatorHTTPServer((host, port), simulator)
    if not simulator.public_url:
        url_host = "127.0.0.1" if host in ("0.0.0.0", "") else host  # noqa: S104
        simulator.public_url = f"http://{url_host}:{server.server_address[1]}"
    return server


#: How often serve_forever() checks for shutdown; short, so tests stop a server quickly.
POLL_INTERVAL_SECONDS = 0.02


def start_in_thread(server: SimulatorHTTPServer) -> threading.Thread:
    thread = threading.Thread(
        target=server.serve_forever,
        kwargs={"poll_interval": POLL_INTERVAL_SECONDS},
        name="jirasim",
        daemon=True,
    )
    thread.start()
    return thread
