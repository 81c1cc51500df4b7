"""Read-only admin of the Jira sites: rows are written only by verified lifecycle callbacks."""

from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest

from .models import Installation


@admin.register(Installation)
class InstallationAdmin(admin.ModelAdmin):
    """Shows sites, never their secret; nobody adds or edits, only superusers delete.

    Other apps may subclass it (unregister, then register the subclass).
    """

    list_display = ("site", "state", "enabled", "installed_at", "updated_at", "client_key")
    list_filter = ("state", "enabled", "product_type")
    search_fields = ("base_url", "display_url", "client_key", "cloud_id", "installation_id")
    date_hierarchy = "installed_at"
    #: Everything but `shared_secret_encrypted`, which no page ever shows.
    fields = (
        "base_url",
        "display_url",
        "client_key",
        "app_key",
        "state",
        "enabled",
        "cloud_id",
        "installation_id",
        "product_type",
        "description",
        "server_version",
        "plugins_version",
        "installed_at",
        "updated_at",
        "uninstalled_at",
        "last_lifecycle_iat",
    )
    readonly_fields = fields

    @admin.display(description="Site", ordering="base_url")
    def site(self, obj: Installation) -> str:
        return str(obj)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Installation | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Installation | None = None) -> bool:
        return request.user.is_active and request.user.is_superuser
