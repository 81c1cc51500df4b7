"""Admin views of what Jira told us through onEntityAssociated: a read-only list, and the
Jira projects connected to a container on its change page. Rows are written only by Jira's
calls (`incidents.provider.rules`), so staff can look but not edit."""

from django.contrib import admin

from incidents.admin.display import ReadOnlyAdminMixin
from incidents.admin.lists import LargeListAdmin
from incidents.models import EntityAssociation


@admin.register(EntityAssociation)
class EntityAssociationAdmin(ReadOnlyAdminMixin, LargeListAdmin):
    list_display = (
        "entity_id",
        "entity_kind",
        "target_ari",
        "target_ati",
        "installation",
        "associated_by",
        "associated_at",
    )
    list_filter = (
        "entity_kind",
        "target_ati",
        "installation",
        ("associated_at", admin.DateFieldListFilter),
    )
    # A Jira id is the end of its ARI, so searching the ARI finds it too.
    search_fields = ("entity_id", "target_ari", "associated_by")
    list_select_related = ("installation",)
    # The sorts with an index (newest first by default); the others would sort every row.
    sortable_by = ("entity_id", "associated_at")
    readonly_fields = [field.name for field in EntityAssociation._meta.fields]


class JiraAssociationInline(ReadOnlyAdminMixin, admin.TabularInline):
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
