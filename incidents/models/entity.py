"""What incidents and reviews share: the fields and rules of an entity sent to Jira, and the
Jira issues and services it is associated with.

Field limits are Jira's (see `incidents.validators`). The count and workspace of an entity's
related rows (an incident's containers, a review's incidents) are checked by
`validate_related()`, which the admin forms and `full_clean_relations()` both call, because a
many-to-many set is not known to `Model.full_clean()`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, ClassVar, Self, TypeVar, cast

from django.core.exceptions import ValidationError
from django.core.validators import MaxLengthValidator
from django.db import models, transaction
from django.db.models import Prefetch

from incidents.models.fields import WebURLField
from incidents.models.sequence import SequencedModel, SequencedQuerySet
from incidents.validators import (
    ASSOCIATION_VALUE_MAX_LENGTH,
    ASSOCIATION_VALUES_MAX,
    DESCRIPTION_MAX_LENGTH,
    ENTITY_ID_MAX_LENGTH,
    SUMMARY_MAX_LENGTH,
    URL_MAX_LENGTH,
    validate_count,
    validate_issue_id_or_key,
    validate_safe_id,
    validate_service_id_or_key,
)


def entity_id_field(verbose_name: str) -> models.CharField:
    """The id Jira stores an incident or review under, which goes into Jira's URLs."""
    return models.CharField(
        verbose_name,
        max_length=ENTITY_ID_MAX_LENGTH,
        unique=True,
        validators=[validate_safe_id],
        help_text="Letters, digits and - _ . ~ (it goes into Jira URLs). Fixed once created.",
    )


_JiraEntity = TypeVar("_JiraEntity", bound="JiraEntity")


class JiraEntityQuerySet(SequencedQuerySet[_JiraEntity]):
    def for_jira(self) -> Self:
        """Entities with everything their payload reads (`incidents.sync.payloads`), in a
        constant number of queries."""
        field = cast("type[JiraEntity]", self.model).RELATED_FIELD
        related = self.model._meta.get_field(field).related_model
        return self.prefetch_related(
            Prefetch(
                field,
                queryset=related._default_manager.only("id", "external_id"),  # type: ignore[union-attr]
            ),
            "associations",
        )


class JiraEntity(SequencedModel):
    """The fields and rules an incident and a review share.

    Subclasses name their many-to-many set (`RELATED_FIELD`), its bounds and nouns.
    """

    RELATED_FIELD: ClassVar[str]
    RELATED_MIN: ClassVar[int]
    RELATED_MAX: ClassVar[int]
    #: (singular noun for counts, plural noun for the workspace message)
    RELATED_NOUNS: ClassVar[tuple[str, str]]

    summary = models.CharField(max_length=SUMMARY_MAX_LENGTH)
    description = models.TextField(
        max_length=DESCRIPTION_MAX_LENGTH,
        blank=True,
        validators=[MaxLengthValidator(DESCRIPTION_MAX_LENGTH)],
        help_text="Markdown, shown in Jira and used when creating Jira issues.",
    )
    url = WebURLField("URL", max_length=URL_MAX_LENGTH, help_text="Where Jira links to.")

    class Meta:
        abstract = True

    def __str__(self) -> str:
        return f"{self.external_id}: {self.summary}"

    @classmethod
    def validate_related(cls, workspace: Any, related: Iterable[Any]) -> None:
        """Jira's bounds on the related set; ours: every member is of the entity's workspace."""
        related = list(related)
        singular, plural = cls.RELATED_NOUNS
        validate_count(
            len(related),
            minimum=cls.RELATED_MIN,
            maximum=cls.RELATED_MAX,
            field=cls.RELATED_FIELD,
            noun=singular,
        )
        if workspace is not None:
            validate_same_workspace(workspace, related, cls.RELATED_FIELD, plural)

    def full_clean_relations(self) -> None:
        """Validate the saved many-to-many and inline rows, which `full_clean()` cannot see."""
        saved = self.pk is not None
        workspace = self.workspace if self.workspace_id else None  # type: ignore[attr-defined]
        related_model = self._meta.get_field(self.RELATED_FIELD).related_model
        # A fresh query: a prefetch (`for_jira()`) may have deferred the workspace.
        related = (
            related_model._default_manager.filter(  # type: ignore[union-attr]
                pk__in=getattr(self, self.RELATED_FIELD).values("pk")
            ).select_related("workspace")
            if saved
            else []
        )
        self.validate_related(workspace, related)
        validate_association_count(self.associations.count() if saved else 0)  # type: ignore[attr-defined]


def validate_same_workspace(workspace: Any, related: Iterable[Any], field: str, noun: str) -> None:
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

    VALUE_VALIDATORS: ClassVar[dict[str, Callable[[str], None]]] = {
        AssociationType.ISSUE: validate_issue_id_or_key,
        AssociationType.SERVICE: validate_service_id_or_key,
    }

    class Meta:
        abstract = True
        ordering = ["association_type", "value"]

    def __str__(self) -> str:
        return f"{self.get_association_type_display()} {self.value}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        with transaction.atomic(using=kwargs.get("using")):
            super().save(*args, **kwargs)
            self.owner().bump_sequence()

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        with transaction.atomic(using=kwargs.get("using")):
            result = super().delete(*args, **kwargs)
            self.owner().bump_sequence()
        return result

    def owner(self) -> JiraEntity:
        """The incident or review whose Jira payload lists this association."""
        raise NotImplementedError

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
