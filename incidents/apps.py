from django.apps import AppConfig


class IncidentsConfig(AppConfig):
    """Workspaces, containers, incidents and post-incident reviews, and their sync to Jira."""

    name = "incidents"
    verbose_name = "Incidents"

    def ready(self) -> None:
        from incidents import recording, signals

        signals.connect_receivers()
        recording.connect_receivers()
