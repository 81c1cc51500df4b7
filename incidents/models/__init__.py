"""The incidents app's models, one module per concern; imported here so Django registers them.

- `workspaces`: workspaces, their links to Jira sites, their containers;
- `sequence` and `entity`: what every entity sent to Jira shares (sequence number, recording,
  validation, associated Jira issues and services);
- `incidents` and `reviews`: the two entities Jira's Incidents page shows;
- `timeline`: an incident's status and severity changes and notes;
- `action_items`: what a post-incident review asks to be done;
- `associations`: what Jira told us through onEntityAssociated;
- `outbox`: what each Jira site must still receive;
- `integrations`: API and webhook integrations, their alert groups, deliveries and idempotency
  keys (docs/api.md);
- `lookups`: `field__any=[…]`, `__in` as one array parameter on PostgreSQL.
"""

from incidents.models import lookups  # noqa: F401  (registers `__any`)
from incidents.models.action_items import ReviewActionItem
from incidents.models.associations import EntityAssociation, EntityKind
from incidents.models.entity import (
    Association,
    AssociationType,
    JiraEntity,
    JiraEntityQuerySet,
    validate_association_count,
)
from incidents.models.incidents import Incident, IncidentAssociation
from incidents.models.integrations import (
    AlertGroup,
    Delivery,
    IdempotencyKey,
    Integration,
)
from incidents.models.outbox import SiteSyncStatus, SyncState
from incidents.models.reviews import PostIncidentReview, ReviewAssociation
from incidents.models.timeline import IncidentUpdate
from incidents.models.workspaces import NAME_MAX_LENGTH, Container, Workspace, WorkspaceLink

__all__ = [
    "NAME_MAX_LENGTH",
    "AlertGroup",
    "Association",
    "AssociationType",
    "Container",
    "Delivery",
    "EntityAssociation",
    "EntityKind",
    "IdempotencyKey",
    "Incident",
    "IncidentAssociation",
    "IncidentUpdate",
    "Integration",
    "JiraEntity",
    "JiraEntityQuerySet",
    "PostIncidentReview",
    "ReviewActionItem",
    "ReviewAssociation",
    "SiteSyncStatus",
    "SyncState",
    "Workspace",
    "WorkspaceLink",
    "validate_association_count",
]
