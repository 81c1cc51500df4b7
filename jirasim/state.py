"""What a simulated Jira site remembers: installed apps and, per app, the data it sent.

Jira keeps operations data per provider app ("Must be unique for a given Provider"), so every
store here is keyed by the app key within a site. Nothing in this module locks: the
:class:`~jirasim.simulator.Simulator` holds one lock around every read and write.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

#: The site every simulator starts with; its baseUrl is the simulator's own URL.
DEFAULT_SITE = "default"
#: Entity kinds as they appear in POST /bulk and in the GET/DELETE paths.
INCIDENTS, REVIEWS = "incidents", "reviews"


@dataclass
class Installation:
    """One app installed on one site; ``shared_secret`` never leaves the simulator's process."""

    app_key: str
    client_key: str
    shared_secret: str
    descriptor: dict
    app_base_url: str
    installation_id: str
    installed_at: float
    scopes: frozenset[str]
    has_operations_module: bool
    descriptor_url: str | None = None
    pending: bool = False

    @property
    def name(self) -> str:
        return str(self.descriptor.get("name") or self.app_key)

    def to_public(self) -> dict:
        """The installation as the control API shows it: everything but the secret."""
        return {
            "appKey": self.app_key,
            "name": self.name,
            "clientKey": self.client_key,
            "appBaseUrl": self.app_base_url,
            "descriptorUrl": self.descriptor_url,
            "installationId": self.installation_id,
            "installedAt": self.installed_at,
            "scopes": sorted(self.scopes),
            "hasOperationsModule": self.has_operations_module,
            "state": "pending" if self.pending else "installed",
        }


@dataclass
class StoredEntity:
    """An incident or review exactly as submitted, with the request's ``properties``."""

    data: dict
    properties: dict[str, str]
    stored_at: float

    @property
    def sequence_number(self) -> int:
        return self.data["updateSequenceNumber"]


@dataclass
class AppData:
    """Everything one app has sent to one site, plus what the site learned from its actions."""

    incidents: dict[str, StoredEntity] = field(default_factory=dict)
    reviews: dict[str, StoredEntity] = field(default_factory=dict)
    workspaces: dict[str, float] = field(default_factory=dict)
    #: container id → {project id → who connected it and when}
    associations: dict[str, dict[str, dict]] = field(default_factory=dict)
    #: details the app returned from searchContainers / fetchWorkspaces, by id
    containers: dict[str, dict] = field(default_factory=dict)
    workspace_details: dict[str, dict] = field(default_factory=dict)

    def store(self, kind: str) -> dict[str, StoredEntity]:
        return self.incidents if kind == INCIDENTS else self.reviews

    def submit(self, kind: str, entity: dict, properties: dict[str, str], now: float) -> bool:
        """Last writer wins: store unless an entity with a higher or equal USN is stored.

        Return whether it was stored. An ignored update is not a failure (spec, POST /bulk).
        """
        store = self.store(kind)
        current = store.get(entity["id"])
        if current is not None and current.sequence_number >= entity["updateSequenceNumber"]:
            return False
        store[entity["id"]] = StoredEntity(data=entity, properties=properties, stored_at=now)
        return True

    def delete_matching(self, properties: dict[str, str]) -> int:
        """Delete every incident and review whose properties include all of ``properties``."""
        deleted = 0
        for store in (self.incidents, self.reviews):
            for entity_id in [
                entity_id
                for entity_id, stored in store.items()
                if all(stored.properties.get(k) == v for k, v in properties.items())
            ]:
                del store[entity_id]
                deleted += 1
        return deleted

    def to_public(self) -> dict:
        return {
            "workspaces": list(self.workspaces),
            "workspaceDetails": self.workspace_details,
            "incidents": {i: _entity_public(s) for i, s in self.incidents.items()},
            "reviews": {i: _entity_public(s) for i, s in self.reviews.items()},
            "associations": {c: sorted(p) for c, p in self.associations.items()},
            "containers": self.containers,
        }


def _entity_public(stored: StoredEntity) -> dict:
    return {"data": stored.data, "properties": stored.properties, "storedAt": stored.stored_at}


@dataclass
class Site:
    """A simulated Jira Cloud site. ``base_path`` is '' for the default site, else /site/<name>."""

    name: str
    base_path: str
    client_key: str = field(default_factory=lambda: str(uuid.uuid4()))
    cloud_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    #: Project keys → ids known on this site; None means every project key is known.
    projects: dict[str, str] | None = None
    installations: dict[str, Installation] = field(default_factory=dict)
    data: dict[str, AppData] = field(default_factory=dict)

    def app_data(self, app_key: str) -> AppData:
        return self.data.setdefault(app_key, AppData())

    def active_installation(self, app_key: str) -> Installation | None:
        return self.installations.get(app_key)

    def forget_app(self, app_key: str) -> None:
        """Uninstall: Jira deletes all the data the app sent (module docs, "Data lifecycle")."""
        self.installations.pop(app_key, None)
        self.data.pop(app_key, None)

    def clear_data(self) -> None:
        self.data.clear()

    def to_public(self, public_url: str) -> dict:
        return {
            "name": self.name,
            "baseUrl": public_url + self.base_path,
            "clientKey": self.client_key,
            "cloudId": self.cloud_id,
            "projects": self.projects,
            "installations": [i.to_public() for i in self.installations.values()],
            "apps": {key: data.to_public() for key, data in self.data.items()},
        }
