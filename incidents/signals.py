"""Receivers that bump `update_sequence_number` when an entity changes without being saved.

Saving an incident or review bumps it already (`incidents.sequence`). These cover the rest of
its Jira payload: affected containers and reviewed incidents (many-to-many, either side),
associations (inline rows), and related rows deleted by a cascade. Connected in
`IncidentsConfig.ready()`.
"""

from django.db import models
from django.db.models.signals import m2m_changed, post_delete, post_save, pre_delete

from incidents.models import (
    Container,
    Incident,
    IncidentAssociation,
    PostIncidentReview,
    ReviewAssociation,
)


def _bump_m2m_owners(owner_model, lookup, instance, action, reverse, pk_set) -> None:
    """Bump the owning side of a many-to-many change, whichever side it was made from."""
    changed = action in ("post_add", "post_remove") and bool(pk_set)
    if not reverse:
        if changed or action == "post_clear":
            instance.bump_sequence()
    elif action == "pre_clear":
        owner_model.objects.filter(**{lookup: instance}).bump_sequence()
    elif changed:
        owner_model.objects.filter(pk__in=pk_set).bump_sequence()


def affected_containers_changed(sender, instance, action, reverse, pk_set, **kwargs) -> None:
    _bump_m2m_owners(Incident, "affected_containers", instance, action, reverse, pk_set)


def reviewed_incidents_changed(sender, instance, action, reverse, pk_set, **kwargs) -> None:
    _bump_m2m_owners(PostIncidentReview, "incidents", instance, action, reverse, pk_set)


def _deleted_with(origin, parent_model) -> bool:
    model = origin.model if isinstance(origin, models.QuerySet) else type(origin)
    return issubclass(model, parent_model)


def incident_association_changed(sender, instance, origin=None, **kwargs) -> None:
    if origin is not None and _deleted_with(origin, Incident):
        return
    Incident.objects.filter(pk=instance.incident_id).bump_sequence()


def review_association_changed(sender, instance, origin=None, **kwargs) -> None:
    if origin is not None and _deleted_with(origin, PostIncidentReview):
        return
    PostIncidentReview.objects.filter(pk=instance.review_id).bump_sequence()


def container_deleting(sender, instance, **kwargs) -> None:
    """Incidents lose an affected container through the cascade: that changes their payload."""
    Incident.objects.filter(affected_containers=instance).bump_sequence()


def incident_deleting(sender, instance, **kwargs) -> None:
    """Reviews lose a reviewed incident through the cascade: that changes their payload."""
    PostIncidentReview.objects.filter(incidents=instance).bump_sequence()


def connect_receivers() -> None:
    """Connect every receiver above once (dispatch_uid makes repeated calls harmless)."""
    m2m_changed.connect(
        affected_containers_changed,
        sender=Incident.affected_containers.through,
        dispatch_uid="incidents.affected_containers_changed",
    )
    m2m_changed.connect(
        reviewed_incidents_changed,
        sender=PostIncidentReview.incidents.through,
        dispatch_uid="incidents.reviewed_incidents_changed",
    )
    for signal in (post_save, post_delete):
        signal.connect(
            incident_association_changed,
            sender=IncidentAssociation,
            dispatch_uid=f"incidents.incident_association_changed.{signal is post_save}",
        )
        signal.connect(
            review_association_changed,
            sender=ReviewAssociation,
            dispatch_uid=f"incidents.review_association_changed.{signal is post_save}",
        )
    pre_delete.connect(
        container_deleting, sender=Container, dispatch_uid="incidents.container_deleting"
    )
    pre_delete.connect(
        incident_deleting, sender=Incident, dispatch_uid="incidents.incident_deleting"
    )
