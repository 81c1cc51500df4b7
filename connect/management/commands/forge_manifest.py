"""Render the Forge manifest.yml that installs the portal on Jira Cloud (docs/install.md)."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from connect.forge import (
    DEFAULT_RUNTIME,
    RUNTIMES,
    ForgeManifest,
    ForgeManifestError,
    build_forge_manifest,
)


class Command(BaseCommand):
    help = (
        "Print the Forge manifest.yml (Connect on Forge) built from the same settings as "
        "/atlassian-connect.json. Refuses, saying why, when Jira Cloud could not install it."
    )
    #: `build_forge_manifest` checks the Connect settings itself and reports every problem.
    requires_system_checks = []

    def add_arguments(self, parser):
        parser.add_argument(
            "--app-id",
            help="The Forge app id that `forge register` wrote into manifest.yml "
            "(ari:cloud:ecosystem::app/<uuid>). Default: the FORGE_APP_ID setting.",
        )
        parser.add_argument(
            "--unregistered",
            action="store_true",
            help="Write Atlassian's placeholder app id, for running `forge register` the first "
            "time; it replaces the placeholder with the new app's id.",
        )
        parser.add_argument(
            "--runtime",
            choices=RUNTIMES,
            default=DEFAULT_RUNTIME,
            help="Forge runtime (required by Forge, unused by the portal).",
        )
        parser.add_argument(
            "--output", metavar="PATH", help="Write the manifest to PATH instead of stdout."
        )

    def handle(self, *args, app_id, unregistered, runtime, output, **options):
        try:
            manifest = build_forge_manifest(
                app_id=app_id, unregistered=unregistered, runtime=runtime
            )
        except ForgeManifestError as exc:
            reasons = "\n".join(f"  - {reason}" for reason in exc.reasons)
            raise CommandError(f"Cannot render the Forge manifest:\n{reasons}") from exc
        text = manifest.to_yaml()
        if output:
            path = Path(output)
            try:
                path.write_text(text, encoding="utf-8")
            except OSError as exc:
                raise CommandError(f"Cannot write {path}: {exc.strerror}") from exc
            self.stderr.write(f"Wrote {path}.")
        else:
            self.stdout.write(text, ending="")
        self.stderr.write(next_steps(manifest))


def next_steps(manifest: ForgeManifest) -> str:
    """What to run with the Forge CLI once the file is written."""
    if manifest.unregistered:
        return (
            "Next, in the folder holding manifest.yml:\n"
            "  forge register        # writes the new app id into manifest.yml\n"
            "then set FORGE_APP_ID to that id (or pass --app-id) and render the manifest "
            "again before `forge deploy`."
        )
    remote = manifest.data["remotes"][0]["baseUrl"]
    installed = manifest.data["connectModules"]["jira:lifecycle"][0]["installed"]
    return (
        "Next, in the folder holding manifest.yml:\n"
        "  forge deploy -e production\n"
        "  forge install -e production -s <your-site>.atlassian.net -p Jira\n"
        f"Jira then calls {remote}{installed}; the site appears in the admin under "
        "Atlassian Connect > Jira sites."
    )
