"""Jira's `updateSequenceNumber`, and the base of every entity sent to Jira.

Jira keeps an update only if its number is greater than the stored one (spec, POST
/rest/operations/1.0/bulk), so equal numbers silently drop an edit. The next number is
`GREATEST(current + 1, now in epoch milliseconds)`, evaluated inside the UPDATE statement:
two edits in the same millisecond still differ, and concurrent saves serialise on the row
lock instead of racing a read-modify-write in Python.

Every write of a sequenced entity (save, delete, queryset update and delete, bulk create) runs
in one transaction with `incidents.sync.recording.record_changes`, the outbox rows that make the
relay tell Jira: the edit and its record commit together or not at all (docs/sync.md).
"""

from __future__ import annotations

import time
from typing import Any, ClassVar, TypeVar, cast

from django.db import models, transaction
from django.db.models import F, Value
from django.db.models.functions import Greatest
from django.utils import timezone

from incidents.sync.recording import record_changes

SEQUENCE_FIELD = "update_sequence_number"
_Entity = TypeVar("_Entity", bound="SequencedModel")
LAST_UPDATED_FIELD = "last_updated"


def now_epoch_millis() -> int:
    """The wall clock in epoch milliseconds, the spec's suggested sequence base."""
    return time.time_ns() // 1_000_000


def next_sequence_expression() -> Greatest:
    """The SQL expression for an entity's next sequence number."""
    return Greatest(
        F(SEQUENCE_FIELD) + 1,
        Value(now_epoch_millis(), output_field=models.BigIntegerField()),
        output_field=models.BigIntegerField(),
    )


class SequencedQuerySet(models.QuerySet[_Entity]):
    """Bulk writes that bump the sequence and record the change in the same transaction."""

    def update(self, **kwargs: Any) -> int:
        kwargs.setdefault(SEQUENCE_FIELD, next_sequence_expression())
        kwargs.setdefault(LAST_UPDATED_FIELD, timezone.now())
        with transaction.atomic(using=self.db):
            identities = list(self.values_list("external_id", "workspace_id"))
            count = super().update(**kwargs)
            record_changes(self.model.SYNC_KIND, identities)
        return count

    def delete(self) -> tuple[int, dict[str, int]]:
        with transaction.atomic(using=self.db):
            pks = list(self.values_list("pk", flat=True))
            doomed = cast(
                "SequencedQuerySet[_Entity]", self.model._default_manager.filter(pk__in=pks)
            )
            self.model.before_delete(doomed)
            identities = list(doomed.values_list("external_id", "workspace_id"))
            result = super(SequencedQuerySet, doomed).delete()
            record_changes(self.model.SYNC_KIND, identities)
        return result

    def bulk_create(self, objs: Any, *args: Any, **kwargs: Any) -> list[Any]:
        with transaction.atomic(using=self.db):
            created = super().bulk_create(objs, *args, **kwargs)
            record_changes(
                self.model.SYNC_KIND, [(obj.external_id, obj.workspace_id) for obj in created]
            )
        return created

    def bump_sequence(self) -> int:
        """Mark every entity in the queryset as changed, e.g. when a related row changed."""
        return self.update()


class SequencedModel(models.Model):
    """An entity sent to Jira (an incident or a review).

    `save()` and `delete()` write the entity, bump its sequence number in the same UPDATE, and
    call `record_changes` in one transaction.
    """

    #: The outbox kind of this model (`incidents.models.outbox.SyncState.Kind`).
    SYNC_KIND: ClassVar[str]

    external_id: models.CharField
    workspace_id: int

    update_sequence_number = models.BigIntegerField(
        default=now_epoch_millis,
        editable=False,
        help_text="Jira keeps an update only if this number is higher than the last one it saw.",
    )
    last_updated = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            self.update_sequence_number = next_sequence_expression()
            update_fields = kwargs.get("update_fields")
            if update_fields is not None:
                kwargs["update_fields"] = {*update_fields, SEQUENCE_FIELD, LAST_UPDATED_FIELD}
        with transaction.atomic(using=kwargs.get("using")):
            super().save(*args, **kwargs)
            record_changes(self.SYNC_KIND, [(self.external_id, self.workspace_id)])
        if not isinstance(self.update_sequence_number, int):
            self.refresh_from_db(fields=[SEQUENCE_FIELD])

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        with transaction.atomic(using=kwargs.get("using")):
            type(self).before_delete(type(self)._default_manager.filter(pk=self.pk))
            identity = (self.external_id, self.workspace_id)
            result = super().delete(*args, **kwargs)
            record_changes(self.SYNC_KIND, [identity])
        return result

    @classmethod
    def before_delete(cls, doomed: models.QuerySet) -> None:
        """Record what deleting these rows changes in other entities (none by default)."""

    def bump_sequence(self) -> None:
        """Bump the sequence without saving other fields (for changes to related rows)."""
        same = type(self)._default_manager.filter(pk=self.pk)
        cast("SequencedQuerySet[SequencedModel]", same).bump_sequence()
        self.refresh_from_db(fields=[SEQUENCE_FIELD, LAST_UPDATED_FIELD])
