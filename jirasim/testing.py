"""Start jirasim from tests: a context manager, a pytest fixture and an app-side client.

    from jirasim.testing import jirasim_server, run_jirasim  # the fixture is used by name

    def test_something(jirasim_server):
        jirasim_server.url, jirasim_server.install_keys_url, jirasim_server.state

    with run_jirasim(fail_rate=0.3, seed=7) as sim:
        ...

The fixture is not registered globally: import it into the test module (or a conftest.py).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from urllib.parse import quote, urlencode, urlsplit

import jwt
import pytest
import requests

from jirasim import tokens
from jirasim.faults import Faults
from jirasim.outbound import LOOPBACK_HOSTS
from jirasim.qsh import relative_path, url_hash
from jirasim.server import make_server, start_in_thread
from jirasim.simulator import DEFAULT_SITE, Simulator
from jirasim.state import Installation


@contextmanager
def run_jirasim(
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    public_url: str | None = None,
    clock: tokens.Clock | None = None,
    allowed_app_hosts: tuple[str, ...] = LOOPBACK_HOSTS,
    **faults,
) -> Iterator[Simulator]:
    """Serve a fresh simulator in a thread (on a free port by default) for the ``with`` block.

    Keyword arguments other than the ones named are fault settings (see
    :class:`jirasim.faults.Faults`), e.g. ``fail_rate=0.3, seed=1, rate_limit_per_minute=10``.
    """
    simulator = Simulator(
        public_url=public_url,
        faults=Faults(**faults),
        clock=clock,
        allowed_app_hosts=allowed_app_hosts,
    )
    server = make_server(simulator, host, port)
    thread = start_in_thread(server)
    try:
        yield simulator
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@pytest.fixture
def jirasim_server() -> Iterator[Simulator]:
    """A running simulator with no faults, fresh for each test."""
    with run_jirasim() as simulator:
        yield simulator


Hasher = Callable[[str, str], str]


class AppClient:
    """Call a simulated site's Operations API as an installed app would (JWT per request).

    ``hasher(method, url_relative_to_site)`` computes the qsh; pass another implementation
    (the portal's, or ``atlassian_jwt.url_utils.hash_url``) to cross-check it against jirasim.
    """

    def __init__(
        self,
        simulator: Simulator,
        installation: Installation,
        *,
        site: str = DEFAULT_SITE,
        hasher: Hasher | None = None,
    ) -> None:
        self.simulator = simulator
        self.installation = installation
        self.base_url = simulator.site_base_url(simulator.site(site))
        self.hasher = hasher or (lambda method, url: url_hash(method, url))
        self.session = requests.Session()

    def token(self, method: str, url: str, **claims) -> str:
        """A token for ``url`` (absolute, under the site); ``claims`` override the defaults."""
        parts = urlsplit(url)
        relative = relative_path(parts.path, urlsplit(self.base_url).path)
        if parts.query:
            relative += "?" + parts.query
        now = int(time.time())
        payload = {
            "iss": self.installation.app_key,
            "iat": now,
            "exp": now + tokens.TOKEN_LIFETIME_SECONDS,
            "qsh": self.hasher(method.upper(), relative),
            **claims,
        }
        payload = {key: value for key, value in payload.items() if value is not None}
        return jwt.encode(payload, self.installation.shared_secret, algorithm="HS256")

    def request(
        self,
        method: str,
        path: str,
        *,
        json: object = None,
        params: dict | list | None = None,
        authorization: str | None = None,
        **claims,
    ) -> requests.Response:
        """Send ``method path`` (relative to the site); sign it unless ``authorization`` is set."""
        url = self.base_url + path
        if params:
            url += "?" + urlencode(params, quote_via=quote)
        prepared = requests.Request(method, url, json=json).prepare()
        assert prepared.url is not None  # prepare() always sets it
        if authorization is None:
            authorization = f"JWT {self.token(method, prepared.url, **claims)}"
        if authorization:
            prepared.headers["Authorization"] = authorization
        return self.session.send(prepared, timeout=10)

    def request_raw(self, method: str, path: str, body: bytes | str) -> requests.Response:
        """Send a body as given (e.g. malformed JSON), signed like any other request."""
        prepared = requests.Request(method, self.base_url + path, data=body).prepare()
        assert prepared.url is not None
        prepared.headers["Content-Type"] = "application/json"
        prepared.headers["Authorization"] = f"JWT {self.token(method, prepared.url)}"
        return self.session.send(prepared, timeout=10)

    def get(self, path: str, **kwargs) -> requests.Response:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs) -> requests.Response:
        return self.request("POST", path, **kwargs)

    def delete(self, path: str, **kwargs) -> requests.Response:
        return self.request("DELETE", path, **kwargs)
