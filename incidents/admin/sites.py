"""The Jira sites (connect's Installation): connect's read-only admin, plus the workspaces each
site can see and what the sync still has to send it (`incidents.admin.sync.SiteSyncAdmin`).

connect registers nothing for Installation itself (it knows nothing of workspaces); this is the
one registration.
"""

from django.contrib import admin
from django.db.models import Count

from connect.admin import InstallationAdmin
from connect.models import Installation
from incidents import site_carry_over
from incidents.admin.display import ReadOnlyAdminMixin
from incidents.admin.sync import SiteSyncAdmin
from incidents.models import WorkspaceLink


class LinkedWorkspaceInline(ReadOnlyAdminMixin, admin.TabularInline):
    """Read-only: links are made from the workspace side."""

    model = WorkspaceLink
    fk_name = "installation"
    fields = ("workspace", "linked_at", "linked_by")
    readonly_fields = fields
    extra = 0
    can_delete = False
    verbose_name_plural = "linked workspaces"

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("workspace", "linked_by")


#: Kept for the lifecycle checks, never useful to staff.
HIDDEN_SITE_FIELDS = ("last_lifecycle_iat",)
#: What support may ask for, folded away under "Technical details".
TECHNICAL_SITE_FIELDS = (
    "client_key",
    "app_key",
    "cloud_id",
    "installation_id",
    "product_type",
    "description",
    "server_version",
    "plugins_version",
)


class InstallationWithWorkspacesAdmin(SiteSyncAdmin, InstallationAdmin):
    """connect's read-only Installation admin, plus the workspaces each site can see, what
    the sync still has to send it (`incidents.admin.sync.SiteSyncAdmin`), the carry-over of a
    superseded site's links (`incidents.site_carry_over`); the site's identifiers folded away
    and lifecycle internals not shown."""

    actions = [*SiteSyncAdmin.actions, site_carry_over.carry_over_links_action]

    def get_fieldsets(self, request, obj=None):
        first, *rest = super().get_fieldsets(request, obj)
        shown = [
            name
            for name in first[1]["fields"]
            if name not in HIDDEN_SITE_FIELDS and name not in TECHNICAL_SITE_FIELDS
        ]
        technical = [name for name in TECHNICAL_SITE_FIELDS if name in first[1]["fields"]]
        return [
            (None, {"fields": shown}),
            *rest,
            ("Technical details", {"fields": technical, "classes": ("collapse",)}),
        ]

    def get_inlines(self, request, obj):
        return [*super().get_inlines(request, obj), LinkedWorkspaceInline]

    def get_list_display(self, request):
        return (*super().get_list_display(request), "linked_workspaces")

    def get_queryset(self, request):
        return (
            super().get_queryset(request).annotate(linked_workspace_total=Count("workspace_links"))
        )

    @admin.display(description="linked workspaces", ordering="linked_workspace_total")
    def linked_workspaces(self, obj):
        return obj.linked_workspace_total


if admin.site.is_registered(Installation):
    admin.site.unregister(Installation)
admin.site.register(Installation, InstallationWithWorkspacesAdmin)
