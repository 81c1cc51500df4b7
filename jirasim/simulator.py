"""The simulated Jira Cloud: sites, installed apps, their data, faults and the request log.

One :class:`Simulator` serves any number of sites. The default site's baseUrl is the simulator's
own URL; a site created later lives under ``<url>/site/<name>``, with its Operations API at
``<url>/site/<name>/rest/operations/1.0/...`` (so one portal can be installed in several sites
at once, each with its own clientKey and shared secret). Every read and write of state happens
under ``self.lock``; HTTP calls to apps never hold it, since an app may call back in.
"""

from __future__ import annotations

import re
import threading
import time
from collections import Counter

from jirasim import control, operations, outbound, page, tokens
from jirasim.errors import SimulatorError
from jirasim.faults import FaultInjector, Faults
from jirasim.host import ConnectHost, LifecycleResult
from jirasim.requestlog import RequestLog
from jirasim.state import DEFAULT_SITE, INCIDENTS, REVIEWS, AppData, Site
from jirasim.wire import Request, Response

__all__ = ["DEFAULT_SITE", "LifecycleResult", "Simulator", "SimulatorError"]

SITE_PREFIX = "/site/"
SITE_NAME = re.compile(r"^[a-z0-9][a-z0-9-]{0,39}$")


class Simulator(ConnectHost):
    """A local stand-in for Jira Cloud; serve it with :func:`jirasim.server.make_server`."""

    def __init__(
        self,
        *,
        public_url: str | None = None,
        faults: Faults | None = None,
        clock: tokens.Clock | None = None,
        allowed_app_hosts: tuple[str, ...] = outbound.LOOPBACK_HOSTS,
        install_key: tokens.InstallKey | None = None,
    ) -> None:
        self.lock = threading.RLock()
        self.clock: tokens.Clock = clock or time.time
        #: Where apps reach the simulator; set by make_server() from the bound port if not given.
        self.public_url = (public_url or "").rstrip("/")
        self.allowed_app_hosts = tuple(allowed_app_hosts)
        self.faults = FaultInjector(faults, self.clock)
        self.log = RequestLog()
        self.counters: Counter[str] = Counter()
        self.install_key = install_key or tokens.default_install_key()
        self.install_keys = {self.install_key.kid: self.install_key}
        self.sites: dict[str, Site] = {DEFAULT_SITE: Site(DEFAULT_SITE, base_path="")}

    # -- sites -------------------------------------------------------------------------------

    @property
    def url(self) -> str:
        """The simulator's own URL, which is also the default site's baseUrl."""
        return self.public_url

    @property
    def state(self) -> dict:
        """A JSON-ready snapshot of every site (see :meth:`snapshot`)."""
        return self.snapshot()

    @property
    def install_keys_url(self) -> str:
        """The value for the portal's CONNECT_INSTALL_KEYS_URL."""
        return f"{self.public_url}/_sim/install-keys"

    def site(self, name: str = DEFAULT_SITE) -> Site:
        with self.lock:
            site = self.sites.get(name)
        if site is None:
            raise SimulatorError(f"no site named {name!r}", status=404)
        return site

    def site_base_url(self, site: Site) -> str:
        return self.public_url + site.base_path

    def create_site(self, name: str, *, projects: dict[str, str] | None = None) -> Site:
        """Add a site at ``<url>/site/<name>``; ``projects`` (key → id) limits known projects."""
        if not SITE_NAME.match(name):
            raise SimulatorError("a site name is 1-40 lower-case letters, digits and '-'")
        with self.lock:
            if name in self.sites:
                raise SimulatorError(f"a site named {name!r} exists already", status=409)
            site = Site(name, base_path=SITE_PREFIX + name, projects=projects)
            self.sites[name] = site
        return site

    def count(self, name: str) -> None:
        with self.lock:
            self.counters[name] += 1

    # -- HTTP ----------------------------------------------------------------------------------

    def handle(self, request: Request) -> Response:
        """Answer one HTTP request: the page, the control API, or a site's Jira endpoints."""
        if request.path in ("/", "/index.html") and request.method in ("GET", "HEAD"):
            return Response.html(200, page.render(self))
        if request.path == "/_sim" or request.path.startswith("/_sim/"):
            return control.handle(self, request)
        started = time.monotonic()
        received = self.clock()
        site, path = self._route(request.path)
        if site is None:
            response = Response.errors(404, f"No site serves {request.path}")
        elif path == "/_edge/tenant_info" and request.method == "GET":
            response = Response.json(200, {"cloudId": site.cloud_id})
        elif path.startswith("/rest/"):
            response = self._rest(site, request, path)
        else:
            response = Response.errors(404, f"Not found: {path}")
        self.log.add(
            time=self.clock(),
            direction="in",
            site=site.name if site else "",
            method=request.method,
            path=request.path,
            query=request.query,
            status=None if response.drop else response.status,
            entities=response.entities,
            app=response.app_key,
            fault=response.note if response.note and response.note.startswith("fault:") else None,
            note=None if response.note and response.note.startswith("fault:") else response.note,
            duration_ms=round((time.monotonic() - started) * 1000 + response.delay * 1000, 1),
            received=received,
        )
        self.count(f"status:{'dropped' if response.drop else response.status}")
        return response

    def _route(self, path: str) -> tuple[Site | None, str]:
        if path.startswith(SITE_PREFIX):
            name, _, rest = path[len(SITE_PREFIX) :].partition("/")
            with self.lock:
                site = self.sites.get(name)
            return site, "/" + rest
        return self.sites[DEFAULT_SITE], path

    def _rest(self, site: Site, request: Request, path: str) -> Response:
        fault, limit_headers = self.faults.decide(site.name)
        if fault is not None and (fault.drop or fault.status):
            response = (
                Response(0, drop=True)
                if fault.drop or fault.status is None
                else Response.errors(fault.status, f"Injected fault ({fault.kind}).")
            )
            response.headers.update(fault.headers)
            response.delay = fault.delay
            response.note = f"fault:{fault.kind}"
        else:
            response = operations.handle(self, site, request, path)
            if fault is not None:
                response.delay = fault.delay
                response.drop = fault.drop_response
                response.note = f"fault:{fault.kind}"
        response.headers.update(limit_headers)
        return response

    # -- inspection and reset ------------------------------------------------------------------

    def incidents(self, *, site: str = DEFAULT_SITE, app_key: str | None = None) -> dict[str, dict]:
        """Stored incidents by id, as an app's GET would return them."""
        return self._entities(INCIDENTS, site, app_key)

    def reviews(self, *, site: str = DEFAULT_SITE, app_key: str | None = None) -> dict[str, dict]:
        return self._entities(REVIEWS, site, app_key)

    def _entities(self, kind: str, site: str, app_key: str | None) -> dict[str, dict]:
        with self.lock:
            store = self._stored_data(site, app_key).store(kind)
            return {entity_id: stored.data for entity_id, stored in store.items()}

    def properties(
        self,
        entity_id: str,
        *,
        kind: str = INCIDENTS,
        site: str = DEFAULT_SITE,
        app_key: str | None = None,
    ) -> dict[str, str]:
        with self.lock:
            return dict(self._stored_data(site, app_key).store(kind)[entity_id].properties)

    def workspaces(self, *, site: str = DEFAULT_SITE, app_key: str | None = None) -> list[str]:
        with self.lock:
            return list(self._stored_data(site, app_key).workspaces)

    def associations(
        self, *, site: str = DEFAULT_SITE, app_key: str | None = None
    ) -> dict[str, list[str]]:
        with self.lock:
            links = self._stored_data(site, app_key).associations
            return {container: sorted(projects) for container, projects in links.items()}

    def _stored_data(self, site: str, app_key: str | None):
        target = self.site(site)
        if app_key is None:
            app_key = self.installation(site=site).app_key
        return target.data.get(app_key) or AppData()

    def snapshot(self) -> dict:
        """Everything the simulator holds, as JSON-ready data, without secrets."""
        with self.lock:
            return {
                "url": self.public_url,
                "installKeysUrl": self.install_keys_url,
                "installKeyId": self.install_key.kid,
                "sites": [site.to_public(self.public_url) for site in self.sites.values()],
                "faults": self.faults.faults.to_public(),
                "counters": dict(self.counters),
            }

    def reset(self, *, data_only: bool = False) -> None:
        """Forget stored data and the log; unless ``data_only``, also extra sites and installs.

        The default site keeps its clientKey and cloudId; faults stay as configured.
        """
        with self.lock:
            if data_only:
                for site in self.sites.values():
                    site.clear_data()
            else:
                default = self.sites[DEFAULT_SITE]
                default.installations.clear()
                default.clear_data()
                default.projects = None
                self.sites = {DEFAULT_SITE: default}
            self.counters.clear()
        self.log.clear()
