from django.apps import AppConfig


class PortalConfig(AppConfig):
    """Project-wide commands (such as `ensure_admin`) that belong to no domain app."""

    name = "portal"
    verbose_name = "Portal"
