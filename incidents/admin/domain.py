"""The ops staff's admin: workspaces, containers, incidents, reviews, and the sites they go to.

Every changelist runs a constant number of queries whatever the row count: foreign keys via
`list_select_related`, many-to-many columns via one prefetch, counts via annotations, the Jira
sync column via a subquery (`incidents.admin.sync`).
External ids, workspaces and raise times are fixed once created: Jira stores entities by id,
so changing one would orphan what Jira already has.
"""

from django.contrib import admin, messages
from django.db.models import Count, Prefetch, Q

from incidents.admin.associations import JiraAssociationInline
from incidents.admin.display import badge
from incidents.admin.forms import AssociationFormSet, IncidentAdminForm, ReviewAdminForm
from incidents.admin.rendering import render_markdown
from incidents.admin.sync import ENTITY_ACTIONS, EntitySyncAdmin, JiraSyncFilter
from incidents.models import (
    Container,
    Incident,
    IncidentAssociation,
    PostIncidentReview,
    ReviewAssociation,
    Workspace,
    WorkspaceLink,
)
from incidents.models.outbox import SyncState

SEVERITY_COLOURS = {
    Incident.Severity.P1: "#b3261e",
    Incident.Severity.P2: "#d9480f",
    Incident.Severity.P3: "#b08800",
    Incident.Severity.P4: "#2b8a3e",
    Incident.Severity.P5: "#1c7ed6",
    Incident.Severity.UNKNOWN: "#6c757d",
}
STATUS_COLOURS = {
    Incident.Status.OPEN: "#b3261e",
    Incident.Status.RESOLVED: "#2b8a3e",
    Incident.Status.UNKNOWN: "#6c757d",
}
REVIEW_STATUS_COLOURS = {
    PostIncidentReview.Status.IN_PROGRESS: "#1c7ed6",
    PostIncidentReview.Status.OUTSTANDING_ACTIONS: "#d9480f",
    PostIncidentReview.Status.COMPLETED: "#2b8a3e",
    PostIncidentReview.Status.UNKNOWN: "#6c757d",
}
NAMES_SHOWN = 3


def short_list(objects, attribute: str = "name"):
    """The first few names of a prefetched relation, then how many more."""
    objects = list(objects)
    names = ", ".join(getattr(obj, attribute) for obj in objects[:NAMES_SHOWN])
    extra = len(objects) - NAMES_SHOWN
    return f"{names} +{extra} more" if extra > 0 else names


class AffectedContainerFilter(admin.SimpleListFilter):
    """Filter by a container id or part of a name: a text box scales to thousands of containers,
    where a list of links would not."""

    title = "affected container"
    parameter_name = "container"
    template = "admin/incidents/input_filter.html"

    def lookups(self, request, model_admin):
        return [("", "")]  # a non-empty list makes the admin show the filter

    def choices(self, changelist):
        yield {
            "value": self.value() or "",
            "hidden": [
                (name, value)
                for name, values in changelist.filter_params.items()
                if name != self.parameter_name
                for value in values
            ],
            "clear_url": changelist.get_query_string(remove=[self.parameter_name]),
        }

    def queryset(self, request, queryset):
        value = (self.value() or "").strip()
        if not value:
            return queryset
        links = Incident.affected_containers.through.objects.filter(
            Q(container__external_id=value) | Q(container__name__icontains=value)
        )
        return queryset.filter(pk__in=links.values("incident_id"))


class AssociationInline(admin.TabularInline):
    formset = AssociationFormSet
    fields = ("association_type", "value")
    extra = 1
    verbose_name = "association"
    verbose_name_plural = "associations (Jira issue keys and service ids)"


class IncidentAssociationInline(AssociationInline):
    model = IncidentAssociation


class ReviewAssociationInline(AssociationInline):
    model = ReviewAssociation


class SequencedAdmin(EntitySyncAdmin):
    """Shared shape of the incident and review admins, with their Jira sync (`sync_admin`)."""

    search_fields = ("external_id", "summary")
    date_hierarchy = "created_date"
    list_select_related = ("workspace",)
    list_display_links = ("external_id", "summary")
    list_per_page = 50
    readonly_fields = ("description_preview", "update_sequence_number", "last_updated")
    fixed_after_creation = ("external_id", "workspace", "created_date")

    def get_readonly_fields(self, request, obj=None):
        fields = super().get_readonly_fields(request, obj)
        return (*fields, *self.fixed_after_creation) if obj else fields

    @admin.display(description="preview")
    def description_preview(self, obj):
        if not obj.description:
            return "(no description)"
        return render_markdown(obj.description)


@admin.register(Incident)
class IncidentAdmin(SequencedAdmin):
    form = IncidentAdminForm
    list_display = (
        "external_id",
        "summary",
        "severity_badge",
        "status_badge",
        "jira_sync",
        "workspace",
        "affected",
        "created_date",
        "last_updated",
    )
    list_filter = ("status", "severity", "workspace", AffectedContainerFilter, JiraSyncFilter)
    autocomplete_fields = ("workspace", "affected_containers")
    inlines = [IncidentAssociationInline]
    actions = ["mark_resolved", *ENTITY_ACTIONS]
    sync_kind = SyncState.Kind.INCIDENT
    fieldsets = (
        (None, {"fields": ("external_id", "workspace", "summary", "severity", "status")}),
        (None, {"fields": ("url", "created_date", "affected_containers")}),
        ("Description (Markdown)", {"fields": ("description", "description_preview")}),
        ("Sent to Jira", {"fields": ("update_sequence_number", "last_updated")}),
    )

    def get_queryset(self, request):
        containers = Container.objects.only("id", "name", "external_id")
        return (
            super()
            .get_queryset(request)
            .prefetch_related(Prefetch("affected_containers", queryset=containers))
        )

    def formfield_for_manytomany(self, db_field, request, **kwargs):
        if db_field.name == "affected_containers":
            # The workspace check names the workspace of every refused container.
            kwargs["queryset"] = Container.objects.select_related("workspace")
        return super().formfield_for_manytomany(db_field, request, **kwargs)

    @admin.display(description="severity", ordering="severity")
    def severity_badge(self, obj):
        if not obj.severity:
            return "-"
        return badge(obj.get_severity_display(), SEVERITY_COLOURS[obj.severity])

    @admin.display(description="status", ordering="status")
    def status_badge(self, obj):
        return badge(obj.get_status_display(), STATUS_COLOURS[obj.status])

    @admin.display(description="affected containers")
    def affected(self, obj):
        return short_list(obj.affected_containers.all())

    def delete_model(self, request, obj):
        orphaned = list(PostIncidentReview.objects.covering_only([obj.pk]))
        super().delete_model(request, obj)
        self._warn_orphaned(request, orphaned)

    def delete_queryset(self, request, queryset):
        ids = list(queryset.values_list("pk", flat=True))
        orphaned = list(PostIncidentReview.objects.covering_only(ids))
        super().delete_queryset(request, queryset)
        self._warn_orphaned(request, orphaned)

    def _warn_orphaned(self, request, reviews) -> None:
        """Say which reviews the delete left without incidents, and what that does to Jira."""
        if reviews:
            names = ", ".join(sorted(review.external_id for review in reviews))
            self.message_user(
                request,
                f"Now covering no incident: {names}. Jira refuses a review of no incident, so "
                "it is withheld from Jira and shows as Failed until it covers one again.",
                messages.WARNING,
            )

    @admin.action(description="Mark selected incidents as resolved", permissions=["change"])
    def mark_resolved(self, request, queryset):
        count = queryset.exclude(status=Incident.Status.RESOLVED).update(
            status=Incident.Status.RESOLVED
        )
        self.message_user(request, f"{count} incident(s) marked as resolved.", messages.SUCCESS)


@admin.register(PostIncidentReview)
class PostIncidentReviewAdmin(SequencedAdmin):
    form = ReviewAdminForm
    list_display = (
        "external_id",
        "summary",
        "status_badge",
        "jira_sync",
        "workspace",
        "reviewed",
        "created_date",
        "last_updated",
    )
    list_filter = ("status", "workspace", JiraSyncFilter)
    autocomplete_fields = ("workspace", "incidents")
    inlines = [ReviewAssociationInline]
    actions = [*ENTITY_ACTIONS]
    sync_kind = SyncState.Kind.REVIEW
    fieldsets = (
        (None, {"fields": ("external_id", "workspace", "summary", "status")}),
        (None, {"fields": ("url", "created_date", "incidents")}),
        ("Description (Markdown)", {"fields": ("description", "description_preview")}),
        ("Sent to Jira", {"fields": ("update_sequence_number", "last_updated")}),
    )

    def get_queryset(self, request):
        incidents = Incident.objects.only("id", "external_id")
        return (
            super()
            .get_queryset(request)
            .prefetch_related(Prefetch("incidents", queryset=incidents))
        )

    def formfield_for_manytomany(self, db_field, request, **kwargs):
        if db_field.name == "incidents":
            kwargs["queryset"] = Incident.objects.select_related("workspace")
        return super().formfield_for_manytomany(db_field, request, **kwargs)

    @admin.display(description="status", ordering="status")
    def status_badge(self, obj):
        return badge(obj.get_status_display(), REVIEW_STATUS_COLOURS[obj.status])

    @admin.display(description="reviewed incidents")
    def reviewed(self, obj):
        return short_list(obj.incidents.all(), "external_id")


class WorkspaceLinkInline(admin.TabularInline):
    """Staff link a workspace to a Jira site here; that is what lets the site see it."""

    model = WorkspaceLink
    fields = ("installation", "linked_at", "linked_by")
    readonly_fields = ("linked_at", "linked_by")
    extra = 0
    verbose_name_plural = "linked Jira sites"

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("installation", "linked_by")


@admin.register(Workspace)
class WorkspaceAdmin(admin.ModelAdmin):
    list_display = ("name", "external_id", "url", "container_count", "site_count", "updated_at")
    search_fields = ("external_id", "name")
    ordering = ("name", "pk")
    readonly_fields = ("created_at", "updated_at")
    inlines = [WorkspaceLinkInline]

    def get_readonly_fields(self, request, obj=None):
        fields = super().get_readonly_fields(request, obj)
        return (*fields, "external_id") if obj else fields

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .annotate(
                container_total=Count("containers", distinct=True),
                site_total=Count("links", distinct=True),
            )
        )

    @admin.display(description="containers", ordering="container_total")
    def container_count(self, obj):
        return obj.container_total

    @admin.display(description="linked sites", ordering="site_total")
    def site_count(self, obj):
        return obj.site_total

    def save_formset(self, request, form, formset, change):
        if formset.model is WorkspaceLink:
            for link_form in formset.forms:
                if link_form.instance.pk is None:
                    link_form.instance.linked_by = request.user
        super().save_formset(request, form, formset, change)


@admin.register(Container)
class ContainerAdmin(admin.ModelAdmin):
    list_display = ("name", "external_id", "workspace", "incident_count", "last_updated")
    list_filter = ("workspace",)
    search_fields = ("external_id", "name")
    ordering = ("name", "pk")
    list_select_related = ("workspace",)
    autocomplete_fields = ("workspace",)
    readonly_fields = ("last_updated",)

    def get_readonly_fields(self, request, obj=None):
        fields = super().get_readonly_fields(request, obj)
        return (*fields, "external_id", "workspace") if obj else fields

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(incident_total=Count("incidents"))

    def get_inlines(self, request, obj):
        return [*super().get_inlines(request, obj), JiraAssociationInline]

    @admin.display(description="incidents", ordering="incident_total")
    def incident_count(self, obj):
        return obj.incident_total
