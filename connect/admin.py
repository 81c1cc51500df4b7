"""Read-only admin of the Jira sites: rows are written only by verified lifecycle callbacks."""

from __future__ import annotations

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from .models import Installation


class SupersededFilter(admin.SimpleListFilter):
    """Rows replaced by a reinstall of the same site under a new clientKey, or the others."""

    title = "superseded"
    parameter_name = "superseded"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin):
        return [("yes", "Superseded"), ("no", "Current")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Installation]):
        if self.value() == "yes":
            return queryset.filter(superseded_by__isnull=False)
        if self.value() == "no":
            return queryset.filter(superseded_by__isnull=True)
        return queryset


@admin.register(Installation)
class InstallationAdmin(admin.ModelAdmin):
    """Shows sites, never their secret, and which row supersedes which; nobody adds or edits,
    only superusers delete.

    Other apps may subclass it (unregister, then register the subclass).
    """

    list_display = (
        "site",
        "state",
        "enabled",
        "installed_at",
        "updated_at",
        "client_key",
        "superseded_by_row",
    )
    list_filter = ("state", "enabled", SupersededFilter, "product_type")
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
        "superseded_by_row",
        "superseded_at",
        "supersedes_rows",
        "last_lifecycle_iat",
    )
    readonly_fields = fields

    def get_list_select_related(self, request: HttpRequest):
        """Whatever a subclass selects, plus the superseding row the list shows."""
        selected = super().get_list_select_related(request)
        if selected is True:
            return True
        return (*(selected or ()), "superseded_by")

    @admin.display(description="Site", ordering="base_url")
    def site(self, obj: Installation) -> str:
        return str(obj)

    @admin.display(description="Superseded by", ordering="superseded_by__base_url")
    def superseded_by_row(self, obj: Installation) -> str:
        """The installation of the same site that replaced this one, with its clientKey."""
        newer = obj.superseded_by
        return f"{newer} ({newer.client_key})" if newer is not None else "-"

    @admin.display(description="Supersedes")
    def supersedes_rows(self, obj: Installation) -> str:
        """The older rows of this site that this installation replaced, if any."""
        older = [f"{row} ({row.client_key})" for row in obj.supersedes.order_by("pk")]
        return "; ".join(older) or "-"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Installation | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Installation | None = None) -> bool:
        return request.user.is_active and request.user.is_superuser
