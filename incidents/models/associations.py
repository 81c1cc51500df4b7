"""What Jira told us through onEntityAssociated / onEntityDisassociated: which of our containers
(or incidents) a Jira project or issue is connected to, on which site, by whom and when.

One row per (site, entity, Jira target), so a replayed call finds its row and changes nothing:
the JWT's `qsh` covers the method, path and query but not the body
(https://developer.atlassian.com/cloud/jira/platform/understanding-jwt-for-connect-apps/).
"""

from django.db import models
from django.db.models import Q
from django.utils import timezone

from incidents.validators import ENTITY_ID_MAX_LENGTH

#: Atlassian Resource Identifiers (`ari:cloud:jira:<cloudId>:project/<id>`) are short in
#: practice; this bound is our own and generous.
ARI_MAX_LENGTH = 500
#: Atlassian Type Identifiers (`ati:cloud:jira:project`), cloud ids and Jira ids: our own bound.
JIRA_REFERENCE_MAX_LENGTH = 255
#: Atlassian account ids are at most 128 characters (Atlassian user privacy guide).
ACCOUNT_ID_MAX_LENGTH = 128


class EntityKind(models.TextChoices):
    CONTAINER = "container", "Container"
    INCIDENT = "incident", "Incident"


class EntityAssociation(models.Model):
    """A Jira project or issue connected to one of our containers or incidents, per Jira site."""

    installation = models.ForeignKey(
        "connect.Installation",
        on_delete=models.CASCADE,
        related_name="entity_associations",
        verbose_name="Jira site",
    )
    entity_kind = models.CharField("kind", max_length=16, choices=EntityKind)
    entity_id = models.CharField("entity id", max_length=ENTITY_ID_MAX_LENGTH)
    entity_ari = models.CharField("entity ARI", max_length=ARI_MAX_LENGTH, blank=True)
    container = models.ForeignKey(
        "incidents.Container",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="jira_associations",
    )
    incident = models.ForeignKey(
        "incidents.Incident",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="jira_associations",
    )
    target_ati = models.CharField("Jira type", max_length=JIRA_REFERENCE_MAX_LENGTH, blank=True)
    target_ari = models.CharField("Jira ARI", max_length=ARI_MAX_LENGTH)
    target_cloud_id = models.CharField(
        "Jira cloud id", max_length=JIRA_REFERENCE_MAX_LENGTH, blank=True
    )
    target_id = models.CharField("Jira id", max_length=JIRA_REFERENCE_MAX_LENGTH, blank=True)
    associated_by = models.CharField(
        "associated by",
        max_length=ACCOUNT_ID_MAX_LENGTH,
        blank=True,
        help_text="Atlassian account id of the Jira user who connected it, when Jira says.",
    )
    associated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = "Jira association"
        ordering = ["-associated_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["installation", "entity_kind", "entity_id", "target_ari"],
                name="incidents_unique_entity_association",
            ),
            models.CheckConstraint(
                condition=(
                    Q(entity_kind=EntityKind.CONTAINER, container__isnull=False, incident=None)
                    | Q(entity_kind=EntityKind.INCIDENT, incident__isnull=False, container=None)
                ),
                name="incidents_entity_association_kind_matches",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.entity_kind} {self.entity_id} ↔ {self.target_ari}"
