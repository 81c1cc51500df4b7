"""Jira's `updateSequenceNumber`: strictly increasing per entity, computed by the database.

Jira keeps an update only if its number is greater than the stored one (spec, POST
/rest/operations/1.0/bulk), so equal numbers silently drop an edit. The next number is
`GREATEST(current + 1, now in epoch milliseconds)`, evaluated inside the UPDATE statement:
two edits in the same millisecond still differ, and concurrent saves serialise on the row
lock instead of racing a read-modify-write in Python (reliability-security.md §2.2, REL-6).
"""

import time

from django.db import models
from django.db.models import F, Value
from django.db.models.functions import Greatest
from django.dispatch import Signal
from django.utils import timezone

SEQUENCE_FIELD = "update_sequence_number"

#: Sent after a bulk `update()` (or `bulk_create()`) of sequenced entities, with kwarg `pks`:
#: saves and deletes have Django's own signals, these paths have none.
entities_changed = Signal()
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


class SequencedQuerySet(models.QuerySet):
    """A queryset whose bulk `update()` (and so `bulk_update()`) also bumps the sequence."""

    def update(self, **kwargs) -> int:
        kwargs.setdefault(SEQUENCE_FIELD, next_sequence_expression())
        kwargs.setdefault(LAST_UPDATED_FIELD, timezone.now())
        listening = entities_changed.has_listeners(self.model)
        pks = list(self.values_list("pk", flat=True)) if listening else []
        count = super().update(**kwargs)
        if pks:
            entities_changed.send(sender=self.model, pks=pks)
        return count

    def bulk_create(self, objs, *args, **kwargs):
        created = super().bulk_create(objs, *args, **kwargs)
        pks = [obj.pk for obj in created if obj.pk is not None]
        if pks:
            entities_changed.send(sender=self.model, pks=pks)
        return created

    def bump_sequence(self) -> int:
        """Mark every entity in the queryset as changed, e.g. when a related row changed."""
        return self.update()


class SequencedModel(models.Model):
    """An entity sent to Jira: every save bumps its sequence number in the same UPDATE."""

    update_sequence_number = models.BigIntegerField(
        default=now_epoch_millis,
        editable=False,
        help_text="Jira keeps an update only if this number is higher than the last one it saw.",
    )
    last_updated = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True

    def save(self, *args, **kwargs) -> None:
        if not self._state.adding:
            self.update_sequence_number = next_sequence_expression()
            update_fields = kwargs.get("update_fields")
            if update_fields is not None:
                kwargs["update_fields"] = {*update_fields, SEQUENCE_FIELD, LAST_UPDATED_FIELD}
        super().save(*args, **kwargs)
        if not isinstance(self.update_sequence_number, int):
            self.refresh_from_db(fields=[SEQUENCE_FIELD])

    def bump_sequence(self) -> None:
        """Bump the sequence without saving other fields (for changes to related rows)."""
        type(self)._default_manager.filter(pk=self.pk).bump_sequence()
        self.refresh_from_db(fields=[SEQUENCE_FIELD, LAST_UPDATED_FIELD])
