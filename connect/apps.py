from django.apps import AppConfig
from django.core import checks


class ConnectConfig(AppConfig):
    """Atlassian Connect plumbing: descriptor, lifecycle, JWT both ways, the Jira client."""

    name = "connect"
    verbose_name = "Atlassian Connect"

    def ready(self) -> None:
        from .checks import check_connect_deploy, check_connect_settings

        checks.register(check_connect_settings, checks.Tags.security)
        checks.register(check_connect_deploy, checks.Tags.security, deploy=True)
