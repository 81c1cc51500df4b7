"""Small builders for the incidents domain; every argument can be overridden."""

import itertools
from urllib.parse import quote

from connect.models import Installation
from incidents.models import Container, Incident, PostIncidentReview, Workspace

_ids = itertools.count(1)


def next_id(prefix: str) -> str:
    return f"{prefix}-{next(_ids)}"


def make_installation(client_key: str | None = None, *, secret: str = "", **fields) -> Installation:
    """An installed, enabled Jira site. With `secret`, its shared secret is stored encrypted as a
    real install stores it (so it can sign and verify); without, a placeholder that only tests
    of what never decrypts it need."""
    n = next(_ids)
    client_key = client_key or f"client-{n}"
    values = {
        "base_url": f"https://site{n}.atlassian.net",
        "shared_secret_encrypted": f"encrypted-secret-canary-{n}",
    }
    values.update(fields)
    installation = Installation(client_key=client_key, **values)
    if secret:
        installation.set_shared_secret(secret)
    installation.save()
    return installation


def make_workspace(**fields) -> Workspace:
    external_id = fields.pop("external_id", None) or next_id("ws")
    values = {"name": f"Workspace {external_id}", "url": f"https://ops.example.com/{external_id}"}
    values.update(fields)
    return Workspace.objects.create(external_id=external_id, **values)


def make_container(workspace: Workspace | None = None, **fields) -> Container:
    external_id = fields.pop("external_id", None) or next_id("svc")
    values = {
        "name": f"Service {external_id}",
        "url": f"https://ops.example.com/c/{quote(external_id)}",
    }
    values.update(fields)
    return Container.objects.create(
        workspace=workspace or make_workspace(), external_id=external_id, **values
    )


def make_incident(workspace=None, containers=None, **fields) -> Incident:
    workspace = workspace or make_workspace()
    external_id = fields.pop("external_id", None) or next_id("inc")
    values = {
        "summary": f"Incident {external_id}",
        "url": f"https://ops.example.com/i/{external_id}",
    }
    values.update(fields)
    incident = Incident.objects.create(workspace=workspace, external_id=external_id, **values)
    if containers is None:
        containers = [make_container(workspace)]
    incident.affected_containers.set(containers)
    incident.refresh_from_db()
    return incident


def make_review(incidents=None, workspace=None, **fields) -> PostIncidentReview:
    if incidents is None:
        incidents = [make_incident(workspace=workspace)]
    workspace = workspace or incidents[0].workspace
    external_id = fields.pop("external_id", None) or next_id("pir")
    values = {
        "summary": f"Review {external_id}",
        "url": f"https://ops.example.com/r/{external_id}",
    }
    values.update(fields)
    review = PostIncidentReview.objects.create(
        workspace=workspace, external_id=external_id, **values
    )
    review.incidents.set(incidents)
    review.refresh_from_db()
    return review
