"""`manage.py seed_demo [--link-all-sites]`: realistic demo data for the ops admin and Jira."""

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from incidents.demo import seed_demo


class Command(BaseCommand):
    help = (
        "Create or update demo workspaces, containers, incidents and post-incident reviews "
        "(idempotent: matched by external id)."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--link-all-sites",
            action="store_true",
            help="Also link every demo workspace to every Jira site that has the app installed.",
        )

    def handle(self, *args, **options) -> None:
        try:
            tally = seed_demo(link_all_sites=options["link_all_sites"])
        except ValidationError as exc:
            raise CommandError(f"Demo data refused: {exc.messages}") from exc
        self.stdout.write(self.style.SUCCESS(f"Demo data ready: {tally}."))
