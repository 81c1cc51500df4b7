"""Admin views of what Jira told us through onEntityAssociated: a read-only list, and the
Jira projects connected to a container on its change page. Rows are written only by Jira's
calls (`incidents.actions`), so staff can look but not edit."""

from django.contrib import admin

from incidents.entity_associations import EntityAssociation
from incidents.models import Container


class ReadOnlyMixin:
    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(EntityAssociation)
class EntityAssociationAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = (
        "entity_id",
        "entity_kind",
        "target_ari",
        "target_ati",
        "installation",
        "associated_by",
        "associated_at",
    )
    list_filter = ("entity_kind", "target_ati", "installation")
    search_fields = ("entity_id", "target_ari", "target_id", "associated_by")
    list_select_related = ("installation",)
    date_hierarchy = "associated_at"
    readonly_fields = [field.name for field in EntityAssociation._meta.fields]


class JiraAssociationInline(ReadOnlyMixin, admin.TabularInline):
    """The Jira projects (or issues) connected to this container, per site."""

    model = EntityAssociation
    fk_name = "container"
    fields = ("installation", "target_ati", "target_ari", "associated_by", "associated_at")
    readonly_fields = fields
    extra = 0
    can_delete = False
    verbose_name_plural = "connected in Jira"

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("installation")


ContainerAdmin = type(admin.site.get_model_admin(Container))


class ContainerWithJiraAssociationsAdmin(ContainerAdmin):
    def get_inlines(self, request, obj):
        return [*super().get_inlines(request, obj), JiraAssociationInline]


admin.site.unregister(Container)
admin.site.register(Container, ContainerWithJiraAssociationsAdmin)
