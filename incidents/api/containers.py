"""Containers named by the input: by external id, strictly, for the REST API; by label value for
alerts, matched by external id, then by name ignoring case, else created in the workspace."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable

from django.db import IntegrityError, transaction
from django.db.models.functions import Lower
from django.utils.text import slugify
from rest_framework.exceptions import ValidationError

from incidents.models import NAME_MAX_LENGTH, Container, Workspace
from incidents.validators import (
    AFFECTED_COMPONENTS_MAX,
    CONTAINER_ID_PATTERN,
    ENTITY_ID_MAX_LENGTH,
)

_CONTAINER_ID = re.compile(rf"\A(?:{CONTAINER_ID_PATTERN})\Z")
#: Room left at the end of a slug for "-<8 hex digits>" when the plain slug is taken elsewhere.
_SUFFIX_LENGTH = 9


def containers_by_id(workspace: Workspace, ids: Iterable[str]) -> list[Container]:
    """The workspace's containers with these external ids, in order; a 400 (raised in a
    serializer's `validate_<field>`, it names that field) for any id the workspace lacks:
    another workspace's container is not told apart from none."""
    ids = list(dict.fromkeys(ids))
    found = {
        c.external_id: c
        for c in Container.objects.filter(workspace=workspace).filter(external_id__in=ids)
    }
    missing = [i for i in ids if i not in found]
    if missing:
        raise ValidationError([f"No container {i!r} in this workspace." for i in missing])
    return [found[i] for i in ids]


def containers_for_labels(workspace: Workspace, values: Iterable[str]) -> list[Container]:
    """The containers label values name, created when the workspace has none of that id or
    name; at most Jira's 100."""
    names: list[str] = []
    for value in values:
        name = value.strip()[:NAME_MAX_LENGTH]
        if name and name.lower() not in {n.lower() for n in names}:
            names.append(name)
    names = names[:AFFECTED_COMPONENTS_MAX]
    if not names:
        return []
    mine = Container.objects.filter(workspace=workspace)
    by_id = {c.external_id: c for c in mine.filter(external_id__in=names)}
    lowered = [n.lower() for n in names if n not in by_id]
    by_name: dict[str, Container] = {}
    if lowered:
        for container in (
            mine.annotate(lname=Lower("name")).filter(lname__in=lowered).order_by("pk")
        ):
            by_name.setdefault(container.lname, container)
    found = {name: by_id.get(name) or by_name.get(name.lower()) for name in names}
    # Created in one order everywhere, so two deliveries creating the same containers cannot
    # each wait for the other's.
    for name in sorted(n for n, c in found.items() if c is None):
        found[name] = _create(workspace, name)
    return list({c.pk: c for c in found.values() if c is not None}.values())


def container_id_for(name: str) -> str:
    """A slug of the label value that fits Jira's container id pattern and length."""
    slug = slugify(name)[:ENTITY_ID_MAX_LENGTH]
    if not _CONTAINER_ID.match(slug):
        slug = "svc-" + hashlib.sha256(name.encode()).hexdigest()[:12]
    return slug


def _create(workspace: Workspace, name: str) -> Container:
    """Create the container, or take the one a concurrent delivery just created; a slug taken by
    another workspace (ids are unique across workspaces) gets a hash suffix."""
    slug = container_id_for(name)
    digest = hashlib.sha256(f"{workspace.pk}:{name}".encode()).hexdigest()[:8]
    for candidate in (slug, f"{slug[: ENTITY_ID_MAX_LENGTH - _SUFFIX_LENGTH]}-{digest}"):
        try:
            with transaction.atomic():
                return Container.objects.create(
                    workspace=workspace, external_id=candidate, name=name, url=workspace.url
                )
        except IntegrityError:
            existing = Container.objects.filter(external_id=candidate).first()
            if existing is not None and existing.workspace_id == workspace.pk:
                return existing
    raise ValidationError({"labels": [f"Cannot create a container for {name!r}."]})
