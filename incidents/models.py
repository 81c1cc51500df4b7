"""The incidents domain: workspaces, their containers, incidents and post-incident reviews.

Field limits are Jira's (see `incidents.validators`); counts of related rows are checked by
`validate_*` class methods that the admin forms and `full_clean_relations()` both call, because
a many-to-many set is not known to `Model.full_clean()`.
"""

from collections.abc import Iterable

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxLengthValidator
from django.db import models
from django.db.models import Prefetch
from django.utils import timezone

from incidents.fields import WebURLField
from incidents.sequence import SequencedModel, SequencedQuerySet
from incidents.validators import (
    AFFECTED_COMPONENTS_MAX,
    AFFECTED_COMPONENTS_MIN,
    ASSOCIATION_VALUE_MAX_LENGTH,
    ASSOCIATION_VALUES_MAX,
    DESCRIPTION_MAX_LENGTH,
    ENTITY_ID_MAX_LENGTH,
    REVIEWED_INCIDENTS_MAX,
    REVIEWED_INCIDENTS_MIN,
    SUMMARY_MAX_LENGTH,
    URL_MAX_LENGTH,
    validate_container_id,
    validate_count,
    validate_issue_id_or_key,
    validate_safe_id,
    validate_service_id_or_key,
)

NAME_MAX_LENGTH = 255


class Workspace(models.Model):
    """A provider workspace, shown to Jira through fetchWorkspaces and linked to Jira sites.

    Links are made by staff, never automatically on install: a genuine install is not an
    authorised customer (reliability-security.md §5.1).
    """

    external_id = models.CharField(
        "workspace id",
        max_length=ENTITY_ID_MAX_LENGTH,
        unique=True,
        validators=[validate_safe_id],
        help_text="Stable id Jira stores; letters, digits and - _ . ~. Fixed once created.",
    )
    name = models.CharField(max_length=NAME_MAX_LENGTH)
    url = WebURLField("URL", max_length=URL_MAX_LENGTH, help_text="Where Jira links to.")
    avatar_url = WebURLField("avatar URL", max_length=URL_MAX_LENGTH, blank=True)
    sites = models.ManyToManyField(
        "connect.Installation",
        through="WorkspaceLink",
        related_name="workspaces",
        blank=True,
        verbose_name="Jira sites",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def link_site(self, installation, *, by=None) -> "WorkspaceLink":
        """Link this workspace to a Jira site (idempotent), through `WorkspaceLink.save()`."""
        link, _ = WorkspaceLink.objects.get_or_create(
            workspace=self, installation=installation, defaults={"linked_by": by}
        )
        return link

    def unlink_site(self, installation) -> bool:
        """Unlink a Jira site, through `WorkspaceLink.delete()`; False if it was not linked."""
        link = WorkspaceLink.objects.filter(workspace=self, installation=installation).first()
        if link is None:
            return False
        link.delete()
        return True


class WorkspaceLink(models.Model):
    """A workspace made visible to one Jira site; code reacting to link/unlink listens to
    this model's post_save (created) and post_delete signals."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="links")
    installation = models.ForeignKey(
        "connect.Installation",
        on_delete=models.CASCADE,
        related_name="workspace_links",
        verbose_name="Jira site",
    )
    linked_at = models.DateTimeField(auto_now_add=True)
    linked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        editable=False,
        related_name="+",
    )

    class Meta:
        verbose_name = "linked Jira site"
        constraints = [
            models.UniqueConstraint(
                fields=["workspace", "installation"], name="incidents_unique_workspace_site"
            )
        ]

    def __str__(self) -> str:
        return f"{self.workspace_id} → {self.installation_id}"

    def clean(self) -> None:
        installation = self.installation if self.installation_id else None
        if self._state.adding and installation is not None and not installation.is_active:
            raise ValidationError(
                {
                    "installation": (
                        f"{installation} has uninstalled or disabled the app; "
                        "only an active Jira site can be linked."
                    )
                }
            )


class Container(models.Model):
    """A service or component of a workspace: what Jira connects to a project, and what an
    incident affects (its `affectedComponents`).

    Container ids are unique across all workspaces, not only within one: Jira's
    affectedComponents carry bare ids that "must be unique for a given Provider".
    """

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="containers")
    external_id = models.CharField(
        "container id",
        max_length=ENTITY_ID_MAX_LENGTH,
        unique=True,
        validators=[validate_container_id],
        help_text="Unique across all workspaces; parts may be joined by '/'. Fixed once created.",
    )
    name = models.CharField(max_length=NAME_MAX_LENGTH)
    url = WebURLField("URL", max_length=URL_MAX_LENGTH)
    avatar_url = WebURLField("avatar URL", max_length=URL_MAX_LENGTH, blank=True)
    last_updated = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return f"{self.name} [{self.external_id}]"


class AssociationType(models.TextChoices):
    """`Associations.associationType` values we send (spec enum, minus compass events)."""

    ISSUE = "issueIdOrKeys", "Jira issue"
    SERVICE = "serviceIdOrKeys", "Service"


class Association(models.Model):
    """One Jira issue key or service id an incident or review is associated with."""

    association_type = models.CharField(
        "type", max_length=32, choices=AssociationType, default=AssociationType.ISSUE
    )
    value = models.CharField(
        max_length=ASSOCIATION_VALUE_MAX_LENGTH,
        help_text="An issue key such as OPS-12, or a service id.",
    )

    VALUE_VALIDATORS = {
        AssociationType.ISSUE: validate_issue_id_or_key,
        AssociationType.SERVICE: validate_service_id_or_key,
    }

    class Meta:
        abstract = True
        ordering = ["association_type", "value"]

    def __str__(self) -> str:
        return f"{self.get_association_type_display()} {self.value}"

    def clean(self) -> None:
        self.value = (self.value or "").strip()
        if self.association_type == AssociationType.ISSUE:
            self.value = self.value.upper()
        validator = self.VALUE_VALIDATORS.get(self.association_type)
        if validator and self.value and len(self.value) <= ASSOCIATION_VALUE_MAX_LENGTH:
            try:
                validator(self.value)
            except ValidationError as exc:
                raise ValidationError({"value": exc.messages}) from exc


def validate_association_count(count: int) -> None:
    """Our cap on the associated issue keys and service ids of one incident or review."""
    if count > ASSOCIATION_VALUES_MAX:
        raise ValidationError(
            {
                "associations": ValidationError(
                    f"Keep at most {ASSOCIATION_VALUES_MAX} associated issues and services "
                    f"(this has {count}), so the Jira payload stays bounded.",
                    code="too_many",
                )
            }
        )


def _validate_same_workspace(workspace, related: Iterable, field: str, noun: str) -> None:
    strangers = [obj for obj in related if obj.workspace_id != workspace.pk]
    if strangers:
        names = "; ".join(f"{obj} is in “{obj.workspace}”" for obj in strangers)
        raise ValidationError(
            {
                field: ValidationError(
                    f"Only {noun} of workspace “{workspace}” can be used here; "
                    f"remove the others ({names}).",
                    code="other_workspace",
                )
            }
        )


class IncidentQuerySet(SequencedQuerySet):
    def for_jira(self) -> "IncidentQuerySet":
        """Incidents with everything `incident_to_jira` reads, in a constant number of queries."""
        return self.prefetch_related(
            Prefetch("affected_containers", queryset=Container.objects.only("id", "external_id")),
            "associations",
        )


class Incident(SequencedModel):
    """An incident as Jira's Incident schema describes it (spec components.schemas.Incident)."""

    class Severity(models.TextChoices):
        P1 = "P1", "P1 (highest)"
        P2 = "P2", "P2"
        P3 = "P3", "P3"
        P4 = "P4", "P4"
        P5 = "P5", "P5 (lowest)"
        UNKNOWN = "unknown", "Unknown"

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        RESOLVED = "resolved", "Resolved"
        UNKNOWN = "unknown", "Unknown"

    external_id = models.CharField(
        "incident id",
        max_length=ENTITY_ID_MAX_LENGTH,
        unique=True,
        validators=[validate_safe_id],
        help_text="Letters, digits and - _ . ~ (it goes into Jira URLs). Fixed once created.",
    )
    workspace = models.ForeignKey(Workspace, on_delete=models.PROTECT, related_name="incidents")
    summary = models.CharField(max_length=SUMMARY_MAX_LENGTH)
    description = models.TextField(
        max_length=DESCRIPTION_MAX_LENGTH,
        blank=True,
        validators=[MaxLengthValidator(DESCRIPTION_MAX_LENGTH)],
        help_text="Markdown, shown in Jira and used when creating Jira issues.",
    )
    url = WebURLField("URL", max_length=URL_MAX_LENGTH, help_text="Where Jira links to.")
    severity = models.CharField(
        max_length=7,
        choices=Severity,
        blank=True,
        default="",
        help_text="Leave empty to send no severity.",
    )
    status = models.CharField(max_length=8, choices=Status, default=Status.OPEN)
    created_date = models.DateTimeField(
        "raised at", default=timezone.now, help_text="When the incident was raised."
    )
    affected_containers = models.ManyToManyField(
        Container,
        related_name="incidents",
        help_text=f"{AFFECTED_COMPONENTS_MIN} to {AFFECTED_COMPONENTS_MAX} containers "
        "of the incident's workspace.",
    )

    objects = IncidentQuerySet.as_manager()

    class Meta:
        ordering = ["-created_date", "-pk"]
        indexes = [
            models.Index(fields=["created_date"], name="incidents_incident_created"),
            models.Index(fields=["status"], name="incidents_incident_status"),
            models.Index(fields=["severity"], name="incidents_incident_severity"),
        ]

    def __str__(self) -> str:
        return f"{self.external_id}: {self.summary}"

    @staticmethod
    def validate_affected_containers(workspace, containers: Iterable[Container]) -> None:
        """Jira needs 1 to 100 affected containers; ours must be of the incident's workspace."""
        containers = list(containers)
        validate_count(
            len(containers),
            minimum=AFFECTED_COMPONENTS_MIN,
            maximum=AFFECTED_COMPONENTS_MAX,
            field="affected_containers",
            noun="affected container",
        )
        if workspace is not None:
            _validate_same_workspace(workspace, containers, "affected_containers", "containers")

    def full_clean_relations(self) -> None:
        """Validate the saved many-to-many and inline rows, which `full_clean()` cannot see."""
        saved = self.pk is not None
        workspace = self.workspace if self.workspace_id else None
        # A fresh query: a prefetch (`for_jira()`) may have deferred the workspace.
        containers = (
            Container.objects.filter(incidents=self).select_related("workspace") if saved else []
        )
        self.validate_affected_containers(workspace, containers)
        validate_association_count(self.associations.count() if saved else 0)

    def to_jira(self) -> dict:
        """This incident as Jira's Incident schema (see `incidents.payloads`)."""
        from incidents.payloads import incident_to_jira

        return incident_to_jira(self)


class IncidentAssociation(Association):
    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="associations")

    class Meta(Association.Meta):
        constraints = [
            models.UniqueConstraint(
                fields=["incident", "association_type", "value"],
                name="incidents_unique_incident_association",
            )
        ]


class ReviewQuerySet(SequencedQuerySet):
    def for_jira(self) -> "ReviewQuerySet":
        """Reviews with everything `review_to_jira` reads, in a constant number of queries."""
        return self.prefetch_related(
            Prefetch("incidents", queryset=Incident.objects.only("id", "external_id")),
            "associations",
        )


class PostIncidentReview(SequencedModel):
    """A post-incident review as Jira's Review schema describes it (components.schemas.Review)."""

    class Status(models.TextChoices):
        IN_PROGRESS = "in progress", "In progress"
        OUTSTANDING_ACTIONS = "outstanding actions", "Outstanding actions"
        COMPLETED = "completed", "Completed"
        UNKNOWN = "unknown", "Unknown"

    external_id = models.CharField(
        "review id",
        max_length=ENTITY_ID_MAX_LENGTH,
        unique=True,
        validators=[validate_safe_id],
        help_text="Letters, digits and - _ . ~ (it goes into Jira URLs). Fixed once created.",
    )
    workspace = models.ForeignKey(Workspace, on_delete=models.PROTECT, related_name="reviews")
    summary = models.CharField(max_length=SUMMARY_MAX_LENGTH)
    description = models.TextField(
        max_length=DESCRIPTION_MAX_LENGTH,
        blank=True,
        validators=[MaxLengthValidator(DESCRIPTION_MAX_LENGTH)],
        help_text="Markdown, shown in Jira and used when creating Jira issues.",
    )
    url = WebURLField("URL", max_length=URL_MAX_LENGTH, help_text="Where Jira links to.")
    status = models.CharField(max_length=19, choices=Status, default=Status.IN_PROGRESS)
    created_date = models.DateTimeField("started at", default=timezone.now)
    incidents = models.ManyToManyField(
        Incident,
        related_name="reviews",
        help_text=f"{REVIEWED_INCIDENTS_MIN} to {REVIEWED_INCIDENTS_MAX} incidents "
        "of the review's workspace.",
    )

    objects = ReviewQuerySet.as_manager()

    class Meta:
        verbose_name = "post-incident review"
        ordering = ["-created_date", "-pk"]
        indexes = [
            models.Index(fields=["created_date"], name="incidents_review_created"),
            models.Index(fields=["status"], name="incidents_review_status"),
        ]

    def __str__(self) -> str:
        return f"{self.external_id}: {self.summary}"

    @staticmethod
    def validate_incidents(workspace, incidents: Iterable[Incident]) -> None:
        """Jira needs 1 to 100 reviewed incidents; ours must be of the review's workspace."""
        incidents = list(incidents)
        validate_count(
            len(incidents),
            minimum=REVIEWED_INCIDENTS_MIN,
            maximum=REVIEWED_INCIDENTS_MAX,
            field="incidents",
            noun="reviewed incident",
        )
        if workspace is not None:
            _validate_same_workspace(workspace, incidents, "incidents", "incidents")

    def full_clean_relations(self) -> None:
        """Validate the saved many-to-many and inline rows, which `full_clean()` cannot see."""
        saved = self.pk is not None
        workspace = self.workspace if self.workspace_id else None
        incidents = (
            Incident.objects.filter(reviews=self).select_related("workspace") if saved else []
        )
        self.validate_incidents(workspace, incidents)
        validate_association_count(self.associations.count() if saved else 0)

    def to_jira(self) -> dict:
        """This review as Jira's Review schema (see `incidents.payloads`)."""
        from incidents.payloads import review_to_jira

        return review_to_jira(self)


class ReviewAssociation(Association):
    review = models.ForeignKey(
        PostIncidentReview, on_delete=models.CASCADE, related_name="associations"
    )

    class Meta(Association.Meta):
        constraints = [
            models.UniqueConstraint(
                fields=["review", "association_type", "value"],
                name="incidents_unique_review_association",
            )
        ]


# The outbox models live in their own module; imported here so Django registers them.
from incidents.entity_associations import EntityAssociation  # noqa: E402, F401
from incidents.outbox import SiteSyncStatus, SyncState  # noqa: E402, F401
