"""Queue a full resend of workspaces, incidents and reviews to Jira sites."""

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from connect.models import Installation
from incidents.models import WorkspaceLink
from incidents.sync.recording import record_workspace_linked


class Command(BaseCommand):
    help = (
        "Queue everything linked for a resend (the relay worker sends it). Safe to interrupt and "
        "run again: each workspace is queued in its own transaction, and queuing twice sends once."
    )

    def add_arguments(self, parser):
        parser.add_argument("--site", metavar="CLIENT_KEY", help="Only this Jira site.")
        parser.add_argument("--workspace", metavar="ID", help="Only this workspace id.")

    def handle(self, *args, site: str | None, workspace: str | None, **options):
        links = WorkspaceLink.objects.select_related("workspace", "installation").order_by("pk")
        if site:
            if not Installation.objects.filter(client_key=site).exists():
                raise CommandError(f"No Jira site with client key {site!r}.")
            links = links.filter(installation__client_key=site)
        if workspace:
            links = links.filter(workspace__external_id=workspace)
        total = links.count()
        if not total:
            raise CommandError("Nothing to resend: no workspace is linked to a matching site.")
        for done, link in enumerate(links.iterator(), start=1):
            with transaction.atomic():
                record_workspace_linked(link)
            self.stdout.write(
                f"[{done}/{total}] {done * 100 // total:3d}%  queued workspace "
                f"{link.workspace.external_id} for {link.installation}"
            )
        self.stdout.write(self.style.SUCCESS(f"Queued {total} workspace link(s) for resending."))
