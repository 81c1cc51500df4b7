"""`manage.py create_integration --workspace <id> --name <name> [--kind ...]`: a new integration
and its token, printed alone on the last line (the only time it is shown)."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from incidents.api.snippets import alertmanager_receiver, grafana_contact_point, webhook_url
from incidents.models import Integration, Workspace


class Command(BaseCommand):
    help = "Create an API or webhook integration for a workspace; prints its token last."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--workspace", required=True, help="The workspace's external id.")
        parser.add_argument("--name", required=True)
        parser.add_argument("--kind", choices=Integration.Kind.values, default=Integration.Kind.API)
        parser.add_argument(
            "--container-label",
            default=None,
            help="The alert label naming the affected container (default: service).",
        )

    def handle(self, *args, **options) -> None:
        workspace = Workspace.objects.filter(external_id=options["workspace"]).first()
        if workspace is None:
            raise CommandError(f"No workspace with id {options['workspace']!r}.")
        name = options["name"].strip()
        if Integration.objects.filter(workspace=workspace, name=name).exists():
            raise CommandError(f"{workspace} already has an integration named {name!r}.")
        integration = Integration(workspace=workspace, name=name, kind=options["kind"])
        if options["container_label"] is not None:
            integration.container_label = options["container_label"]
        token = integration.set_new_token()
        try:
            integration.full_clean()
        except Exception as exc:
            raise CommandError(str(exc)) from exc
        integration.save()
        self.stdout.write(
            f"Created integration {name!r} ({integration.get_kind_display()}) "
            f"for workspace {workspace.external_id}."
        )
        self.stdout.write(f"Endpoint: {webhook_url(integration.kind)}")
        if integration.kind == Integration.Kind.ALERTMANAGER:
            self.stdout.write(alertmanager_receiver(integration, "<the token below>"))
        elif integration.kind == Integration.Kind.GRAFANA:
            self.stdout.write(grafana_contact_point(integration, "<the token below>"))
        self.stdout.write("The token, shown only now (send it as 'Authorization: Bearer <token>'):")
        self.stdout.write(token)
