"""`Idempotency-Key` on REST POSTs: a retried POST gets the first answer and creates nothing
twice.

The key's row is inserted first, in the same transaction as the POST's effect: a concurrent
retry's INSERT waits on the unique constraint until the first commits, then reads its answer.
A POST that failed leaves no row, so its retry runs again. The same key with a different
request is a 422.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from typing import Any

from django.db import IntegrityError, transaction
from rest_framework.exceptions import ValidationError

from incidents.api.errors import IdempotencyConflict
from incidents.models import IdempotencyKey, Integration

HEADER = "Idempotency-Key"
KEY_MAX_LENGTH = 255


def request_fingerprint(method: str, path: str, body: Any) -> str:
    canonical = json.dumps([method, path, body], sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def run_once(
    integration: Integration,
    key: str,
    fingerprint: str,
    produce: Callable[[], tuple[int, Any]],
) -> tuple[int, Any, bool]:
    """`produce()`'s (status, body) the first time; the stored one, and True, on a replay."""
    if not key or len(key) > KEY_MAX_LENGTH:
        raise ValidationError({HEADER: [f"Give 1 to {KEY_MAX_LENGTH} characters."]})
    with transaction.atomic():
        try:
            with transaction.atomic():
                record = IdempotencyKey.objects.create(
                    integration=integration, key=key, request_hash=fingerprint
                )
        except IntegrityError:
            stored = IdempotencyKey.objects.get(integration=integration, key=key)
            if stored.request_hash != fingerprint:
                raise IdempotencyConflict() from None
            return stored.status_code or 200, stored.response, True
        status, body = produce()
        record.status_code, record.response = status, body
        record.save(update_fields=["status_code", "response"])
    return status, body, False
