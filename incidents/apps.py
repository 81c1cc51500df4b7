from django.apps import AppConfig


class IncidentsConfig(AppConfig):
    """Workspaces, containers, incidents and post-incident reviews, and their sync to Jira."""

    name = "incidents"
    verbose_name = "Incidents"

    def ready(self) -> None:
        from incidents.provider.descriptor import register_actions
        from incidents.sync import recording

        recording.connect_receivers()
        register_actions()
