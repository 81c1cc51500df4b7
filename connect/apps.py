from django.apps import AppConfig


class ConnectConfig(AppConfig):
    """Atlassian Connect plumbing: descriptor, lifecycle, JWT both ways, the Jira client."""

    name = "connect"
    verbose_name = "Atlassian Connect"
