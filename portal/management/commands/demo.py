"""`manage.py demo` (`make demo`): jirasim, the portal and a sync worker, ready to click through."""

import signal
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from portal.demo import Demo, DemoConfig, DemoFailed, DemoRefused


def _interrupt(signum, frame):
    raise KeyboardInterrupt


class Command(BaseCommand):
    help = (
        "Start jirasim, the portal and a sync worker on a demo database of their own, install "
        "the portal into jirasim through the signed handshake, seed demo data, and print where "
        "to look. Ctrl-C stops everything. Running it again reuses the same demo data."
    )
    # It only starts other processes; they run the checks against the demo settings.
    requires_system_checks = []

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--port", type=int, default=8000, help="the portal's port (%(default)s)"
        )
        parser.add_argument(
            "--jirasim-port", type=int, default=8100, help="jirasim's port (%(default)s)"
        )
        parser.add_argument(
            "--data-dir",
            default=str(Path(settings.BASE_DIR) / "var" / "demo"),
            help="where the demo keeps its database, admin login and logs (%(default)s)",
        )
        parser.add_argument(
            "--poll-interval",
            type=float,
            default=1.0,
            help="seconds between the worker's looks for changes (%(default)s)",
        )

    def handle(self, *args, **options) -> None:
        port, jirasim_port = options["port"], options["jirasim_port"]
        for value, flag in ((port, "--port"), (jirasim_port, "--jirasim-port")):
            if not 1 <= value <= 65535:
                raise CommandError(f"{flag} {value} is not a TCP port (1-65535).")
        if options["poll_interval"] <= 0:
            raise CommandError("--poll-interval must be more than 0 seconds.")
        config = DemoConfig(
            data_dir=Path(options["data_dir"]).resolve(),
            port=port,
            jirasim_port=jirasim_port,
            poll_interval=options["poll_interval"],
        )
        demo = Demo(config, write=self._write)
        try:
            demo.preflight()
        except DemoRefused as exc:
            raise CommandError(f"Cannot start the demo: {exc}.") from exc
        previous = {s: signal.signal(s, _interrupt) for s in (signal.SIGINT, signal.SIGTERM)}
        try:
            demo.start()
            demo.watch()
        except KeyboardInterrupt:
            self._write("Stopping the demo...")
        except DemoFailed as exc:
            raise CommandError(f"The demo failed: {exc}") from exc
        finally:
            for signum in previous:  # a second Ctrl-C must not cut the clean-up short
                signal.signal(signum, signal.SIG_IGN)
            demo.stop()
            for signum, handler in previous.items():
                signal.signal(signum, handler)
        self._write("Demo stopped. `make demo` starts it again with the same data.")

    def _write(self, text: str) -> None:
        self.stdout.write(text)
        self.stdout.flush()
