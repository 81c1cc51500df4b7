"""Jira's side of Connect: installing apps with signed lifecycle calls, and calling actions.

Mixed into :class:`~jirasim.simulator.Simulator`, which provides the lock, clock, sites, log and
install key. HTTP calls to apps never hold the lock: an app may call the simulator back while it
handles ``installed`` (to link its workspaces, say).
"""

from __future__ import annotations

import threading
import time
import uuid
from dataclasses import dataclass
from urllib.parse import urlsplit

from jirasim import actions, contract, descriptor, outbound, tokens
from jirasim.errors import SimulatorError
from jirasim.qsh import relative_path
from jirasim.requestlog import RequestLog
from jirasim.state import DEFAULT_SITE, Installation, Site

#: What the simulated Jira reports about itself in lifecycle payloads.
SERVER_VERSION = "100276"
PLUGINS_VERSION = "1001.0.0-SNAPSHOT"
#: Jira considers an install complete only when ``installed`` answers one of these.
INSTALL_SUCCESS_STATUSES = (200, 204)


@dataclass
class LifecycleResult:
    """The outcome of an install or uninstall, with the app's answer to the callback."""

    ok: bool
    event: str
    site: str
    app_key: str
    status: int | None
    message: str
    installation: Installation | None = None

    def to_public(self) -> dict:
        return {
            "ok": self.ok,
            "event": self.event,
            "site": self.site,
            "appKey": self.app_key,
            "callbackStatus": self.status,
            "message": self.message,
            "installation": self.installation.to_public() if self.installation else None,
        }


class ConnectHost:
    """Install, uninstall and action calls, as Jira makes them."""

    lock: threading.RLock
    clock: tokens.Clock
    log: RequestLog
    install_key: tokens.InstallKey
    install_keys: dict[str, tokens.InstallKey]
    allowed_app_hosts: tuple[str, ...]

    def site(self, name: str = DEFAULT_SITE) -> Site:
        """Provided by the Simulator."""
        raise NotImplementedError

    def site_base_url(self, site: Site) -> str:
        """Provided by the Simulator."""
        raise NotImplementedError

    def install(self, descriptor_url: str, *, site: str = DEFAULT_SITE) -> LifecycleResult:
        """Fetch an app's descriptor and install it as Jira does (signed ``installed`` call)."""
        try:
            fetched = outbound.fetch_descriptor(descriptor_url, self.allowed_app_hosts)
        except outbound.OutboundRefused as refused:
            raise SimulatorError(str(refused), status=502) from None
        return self.install_descriptor(fetched, site=site, descriptor_url=descriptor_url)

    def install_descriptor(
        self,
        app_descriptor: dict,
        *,
        site: str = DEFAULT_SITE,
        descriptor_url: str | None = None,
        notify: bool = True,
    ) -> LifecycleResult:
        """Install from a descriptor already in hand.

        With ``notify=False`` no callback is made: the installation is simply recorded, which
        is handy for tests that only exercise the REST API as an app (the shared secret is on
        ``result.installation``).
        """
        try:
            descriptor.check(app_descriptor)
        except descriptor.DescriptorRejected as rejected:
            raise SimulatorError(f"Jira would refuse this descriptor: {rejected}") from None
        target = self.site(site)
        app_key = app_descriptor["key"]
        callback = descriptor.resolve(app_descriptor, app_descriptor["lifecycle"]["installed"])
        if notify:
            try:
                outbound.check_host(callback, self.allowed_app_hosts)
            except outbound.OutboundRefused as refused:
                raise SimulatorError(str(refused)) from None
        with self.lock:
            previous = target.installations.get(app_key)
            installation = Installation(
                app_key=app_key,
                client_key=target.client_key,
                shared_secret=tokens.new_shared_secret(),
                descriptor=app_descriptor,
                app_base_url=app_descriptor["baseUrl"],
                installation_id=previous.installation_id
                if previous
                else f"ari:cloud:ecosystem::installation/{uuid.uuid4()}",
                installed_at=self.clock(),
                scopes=frozenset(contract.granted_scopes(app_descriptor.get("scopes", []))),
                has_operations_module=descriptor.module(app_descriptor) is not None,
                descriptor_url=descriptor_url,
                pending=notify,
            )
            # The new secret is valid while the app handles ``installed``, so an app that
            # links its workspaces from inside that request is not refused.
            target.installations[app_key] = installation
        if not notify:
            return LifecycleResult(True, "installed", site, app_key, None, "recorded", installation)
        status, message = self._lifecycle(target, installation, "installed", callback)
        ok = status in INSTALL_SUCCESS_STATUSES
        with self.lock:
            if ok:
                installation.pending = False
            elif target.installations.get(app_key) is installation:
                if previous is not None:
                    target.installations[app_key] = previous
                else:
                    target.forget_app(app_key)
        return LifecycleResult(
            ok, "installed", site, app_key, status, message, installation if ok else None
        )

    def uninstall(self, app_key: str | None = None, *, site: str = DEFAULT_SITE) -> LifecycleResult:
        """Uninstall an app: signed ``uninstalled`` call (if declared), then delete its data."""
        target = self.site(site)
        installation = self.installation(app_key, site=site)
        url = (installation.descriptor.get("lifecycle") or {}).get("uninstalled")
        status, message = None, "the app declares no uninstalled callback"
        if url:
            status, message = self._lifecycle(
                target,
                installation,
                "uninstalled",
                descriptor.resolve(installation.descriptor, url),
            )
        with self.lock:
            target.forget_app(installation.app_key)
        return LifecycleResult(True, "uninstalled", site, installation.app_key, status, message)

    def _lifecycle(
        self, site: Site, installation: Installation, event: str, url: str
    ) -> tuple[int | None, str]:
        payload = {
            "key": installation.app_key,
            "clientKey": site.client_key,
            "serverVersion": SERVER_VERSION,
            "pluginsVersion": PLUGINS_VERSION,
            "baseUrl": self.site_base_url(site),
            "displayUrl": self.site_base_url(site),
            "productType": "jira",
            "description": f"Simulated Jira site {site.name!r}",
            "eventType": event,
            "installationId": installation.installation_id,
            "cloudId": site.cloud_id,
        }
        if event == "installed":
            payload["sharedSecret"] = installation.shared_secret
        parts = urlsplit(url)
        token = self.install_key.sign_lifecycle(
            client_key=site.client_key,
            audience=installation.app_base_url,
            method="POST",
            path=relative_path(parts.path, urlsplit(installation.app_base_url).path),
            query=parts.query,
            now=self.clock(),
        )
        reply, message = self._send(site, installation, event, "POST", url, token, payload)
        if reply is None:
            return None, message
        return reply.status, f"the app answered {reply.status} to {event}"

    def _send(self, site, installation, note, method, url, token, body):
        started = time.monotonic()
        try:
            reply = outbound.send(
                method, url, allowed_hosts=self.allowed_app_hosts, token=token, body=body
            )
            message = ""
        except outbound.OutboundRefused as refused:
            reply, message = None, str(refused)
        parts = urlsplit(url)
        self.log.add(
            time=self.clock(),
            direction="out",
            site=site.name,
            method=method,
            path=parts.path,
            query=parts.query,
            status=None if reply is None else reply.status,
            app=installation.app_key,
            note=note if reply is not None else f"{note}: {message}",
            duration_ms=round((time.monotonic() - started) * 1000, 1),
        )
        return reply, message

    def installation(self, app_key: str | None = None, *, site: str = DEFAULT_SITE) -> Installation:
        """The installation of ``app_key`` on a site, or the only one when no key is given."""
        target = self.site(site)
        with self.lock:
            installed = dict(target.installations)
        if app_key is not None:
            if app_key not in installed:
                raise SimulatorError(f"{app_key!r} is not installed on site {site!r}", 404)
            return installed[app_key]
        if len(installed) != 1:
            raise SimulatorError(
                f"{len(installed)} apps are installed on site {site!r}; name one with app_key",
                404 if not installed else 400,
            )
        return next(iter(installed.values()))

    # -- actions -------------------------------------------------------------------------------

    def fetch_workspaces(
        self,
        ids: list[str],
        *,
        site: str = DEFAULT_SITE,
        app_key: str | None = None,
        user_id: str | None = actions.DEFAULT_ACCOUNT_ID,
    ) -> actions.ActionResult:
        """POST ``{"ids": [...]}`` to the app's fetchWorkspaces action, as Jira does."""
        ids = list(ids)
        result = self._action(
            site, app_key, actions.FETCH_WORKSPACES, "POST", {}, {"ids": ids}, user_id
        )
        for item in actions.check_workspaces(result, ids):
            if isinstance(item.get("id"), str):
                with self.lock:
                    self._data(site, app_key).workspace_details[item["id"]] = item
        return result

    def search_containers(
        self,
        query: str,
        *,
        workspace_id: str | None = None,
        site: str = DEFAULT_SITE,
        app_key: str | None = None,
        user_id: str | None = actions.DEFAULT_ACCOUNT_ID,
    ) -> actions.ActionResult:
        """GET the app's searchContainers action with ``?searchQuery=`` (and ``workspaceId``)."""
        params = {"searchQuery": query, "workspaceId": workspace_id}
        result = self._action(
            site, app_key, actions.SEARCH_CONTAINERS, "GET", params, None, user_id
        )
        for item in actions.check_containers(result):
            if isinstance(item.get("id"), str):
                with self.lock:
                    self._data(site, app_key).containers[item["id"]] = item
        return result

    def associate(
        self,
        container_id: str,
        project: str,
        *,
        site: str = DEFAULT_SITE,
        app_key: str | None = None,
        user_id: str | None = actions.DEFAULT_ACCOUNT_ID,
    ) -> actions.ActionResult:
        """Connect a container to a project (key or id) and notify the app (onEntityAssociated)."""
        return self._association(container_id, project, site, app_key, user_id, associate=True)

    def disassociate(
        self,
        container_id: str,
        project: str,
        *,
        site: str = DEFAULT_SITE,
        app_key: str | None = None,
        user_id: str | None = actions.DEFAULT_ACCOUNT_ID,
    ) -> actions.ActionResult:
        """Disconnect a container from a project and notify the app (onEntityDisassociated)."""
        return self._association(container_id, project, site, app_key, user_id, associate=False)

    def _association(self, container_id, project, site, app_key, user_id, *, associate):
        target = self.site(site)
        project_id = self._project_id(target, project)
        body = actions.association_body(
            cloud_id=target.cloud_id,
            container_id=container_id,
            project_id=project_id,
            user_id=user_id,
            associate=associate,
        )
        action = actions.ON_ENTITY_ASSOCIATED if associate else actions.ON_ENTITY_DISASSOCIATED
        result = self._action(site, app_key, action, "PUT", {}, body, user_id, optional=True)
        if result.called:
            actions.check_notification(result)
        if not result.called or 200 <= result.status < 300:
            with self.lock:
                links = self._data(site, app_key).associations
                if associate:
                    links.setdefault(container_id, {})[project_id] = {
                        "user": user_id,
                        "at": self.clock(),
                    }
                else:
                    links.get(container_id, {}).pop(project_id, None)
                    if not links.get(container_id):
                        links.pop(container_id, None)
        return result

    def _project_id(self, site: Site, project: str) -> str:
        if site.projects is None or project in site.projects.values():
            return project
        if project in site.projects:
            return site.projects[project]
        raise SimulatorError(f"site {site.name!r} has no project {project!r}", 404)

    def _action(self, site, app_key, action, method, params, body, user_id, *, optional=False):
        target = self.site(site)
        installation = self.installation(app_key, site=site)
        if not installation.has_operations_module:
            raise SimulatorError(f"{installation.app_key!r} has no {contract.MODULE_KEY} module")
        template = descriptor.action_url(installation.descriptor, action)
        if template is None:
            if optional:
                return actions.ActionResult(action, "", 0, called=False)
            raise SimulatorError(f"{installation.app_key!r} declares no {action} action")
        url = actions.with_query(template, params)
        parts = urlsplit(url)
        token = tokens.sign_hs256(
            issuer=target.client_key,
            secret=installation.shared_secret,
            method=method,
            path=relative_path(parts.path, urlsplit(installation.app_base_url).path),
            query=parts.query,
            now=self.clock(),
            subject=user_id,
        )
        reply, message = self._send(target, installation, action, method, url, token, body)
        if reply is None:
            return actions.ActionResult(action, url, 0, problems=[message])
        return actions.ActionResult(action, url, reply.status, reply.data, reply.text)

    def _data(self, site: str, app_key: str | None):
        return self.site(site).app_data(self.installation(app_key, site=site).app_key)

    def rotate_install_key(self) -> str:
        """Sign future lifecycle calls with a new key pair; old public keys stay served."""
        key = tokens.InstallKey.generate()
        with self.lock:
            self.install_keys[key.kid] = key
            self.install_key = key
        return key.kid
