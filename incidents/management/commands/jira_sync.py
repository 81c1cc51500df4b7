"""The relay worker: sends pending changes to every linked Jira site until stopped."""

import signal
import threading

from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import close_old_connections, connection

from incidents.sync.relay import RelayConfig, default_worker_id, relay_once


class Command(BaseCommand):
    help = (
        "Send pending changes to Jira until stopped. Run one per machine or more; on PostgreSQL "
        "workers share the work safely. SIGTERM or Ctrl-C stops after the batch in hand."
    )

    def add_arguments(self, parser):
        parser.add_argument("--once", action="store_true", help="Send what is due now, then exit.")
        parser.add_argument(
            "--poll-interval",
            type=float,
            default=settings.SYNC_POLL_SECONDS,
            help="Seconds to wait when nothing is due (default: %(default)s).",
        )
        parser.add_argument("--worker-id", default="", help="Name shown on claimed rows.")

    def handle(self, *args, once: bool, poll_interval: float, worker_id: str, **options):
        stop = threading.Event()
        if threading.current_thread() is threading.main_thread():
            for signum in (signal.SIGTERM, signal.SIGINT):
                signal.signal(signum, lambda *_: stop.set())
        worker_id = worker_id or default_worker_id()
        config = RelayConfig()
        self.stdout.write(f"Jira sync worker {worker_id} started (poll every {poll_interval}s).")
        while not stop.is_set():
            if not connection.in_atomic_block:  # a caller's transaction (tests) stays open
                close_old_connections()
            handled = relay_once(worker_id=worker_id, config=config)
            if handled:
                self.stdout.write(f"Sent {handled} change(s).")
            if once and not handled:
                break
            if not handled:
                stop.wait(poll_interval)
        self.stdout.write("Jira sync worker stopped.")
