"""`manage.py revoke_integration --workspace <id> --name <name>`: its token stops working."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from incidents.models import Integration


class Command(BaseCommand):
    help = "Revoke an integration's token; calls with it get 401 from then on."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--workspace", required=True, help="The workspace's external id.")
        parser.add_argument("--name", required=True)

    def handle(self, *args, **options) -> None:
        integration = Integration.objects.filter(
            workspace__external_id=options["workspace"], name=options["name"]
        ).first()
        if integration is None:
            raise CommandError(
                f"No integration {options['name']!r} in workspace {options['workspace']!r}."
            )
        if integration.revoke():
            self.stdout.write(f"Revoked {integration}.")
        else:
            self.stdout.write(f"{integration} was already revoked.")
