"""`manage.py prune_deliveries [--days 30]`: delete webhook deliveries and idempotency keys older
than that, so alert storms do not grow the database without end (run it daily, e.g. from cron)."""

from __future__ import annotations

from datetime import timedelta

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from incidents.models import Delivery, IdempotencyKey


class Command(BaseCommand):
    help = "Delete webhook deliveries and Idempotency-Key records older than --days (30)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--days", type=int, default=30)

    def handle(self, *args, **options) -> None:
        if options["days"] < 1:
            raise CommandError("--days must be at least 1.")
        cutoff = timezone.now() - timedelta(days=options["days"])
        _, deliveries = Delivery.objects.filter(received_at__lt=cutoff).delete()
        _, keys = IdempotencyKey.objects.filter(created_at__lt=cutoff).delete()
        self.stdout.write(
            f"Deleted {deliveries.get(Delivery._meta.label, 0)} delivery(ies) and "
            f"{keys.get(IdempotencyKey._meta.label, 0)} idempotency key(s) "
            f"from before {cutoff:%Y-%m-%d %H:%M} UTC."
        )
