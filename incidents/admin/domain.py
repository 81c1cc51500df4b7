"""The ops staff's admin: workspaces, containers, incidents, reviews, and the sites they go to.

Every changelist runs a constant number of queries whatever the row count: foreign keys via
`list_select_related`, many-to-many columns via one prefetch, counts via annotations, the Jira
sync column via a subquery (`incidents.admin.sync`).
External ids, workspaces and raise times are fixed once created: Jira stores entities by id,
so changing one would orphan what Jira already has.
"""

from typing import ClassVar

from django.contrib import admin, messages
from django.db.models import Count, Prefetch, Q
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html

from incidents import workflow
from incidents.admin.associations import JiraAssociationInline
from incidents.admin.declare import declare_view
from incidents.admin.display import badge
from incidents.admin.forms import (
    ActionItemForm,
    AssociationFormSet,
    IncidentAdminForm,
    ReviewAdminForm,
    staff_users,
)
from incidents.admin.lists import (
    IndexedChangeList,
    LargeListAdmin,
    TextInputFilter,
    WorkspaceFilter,
    count_of,
)
from incidents.admin.rendering import render_markdown
from incidents.admin.sync import ENTITY_ACTIONS, EntitySyncAdmin, JiraSyncFilter
from incidents.metrics import humane_duration
from incidents.models import (
    Container,
    Incident,
    IncidentAssociation,
    IncidentUpdate,
    PostIncidentReview,
    ReviewActionItem,
    ReviewAssociation,
    Workspace,
    WorkspaceLink,
)
from incidents.models.outbox import SyncState
from incidents.sync import overview

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


class AffectedContainerFilter(TextInputFilter):
    """Filter by a container id or part of a name: a text box scales to thousands of containers,
    where a list of links would not."""

    title = "affected container"
    parameter_name = "container"
    placeholder = "Container id or name"

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


class TimelineInline(admin.TabularInline):
    """The incident's timeline, read-only, with one empty row to add a note."""

    model = IncidentUpdate
    fields = ("when", "entry", "who", "message")
    readonly_fields = ("when", "entry", "who")
    extra = 1
    can_delete = False
    verbose_name = "note"
    verbose_name_plural = "timeline (add a note in the empty row)"

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("author")

    def has_change_permission(self, request, obj=None):
        return False

    @admin.display(description="when")
    def when(self, obj):
        return "" if obj.pk is None else f"{timezone.localtime(obj.created_at):%Y-%m-%d %H:%M:%S}"

    @admin.display(description="who")
    def who(self, obj):
        return "you, on saving" if obj.pk is None else obj.actor

    @admin.display(description="what")
    def entry(self, obj):
        if obj.pk is None:
            return "New note"
        if obj.kind != IncidentUpdate.Kind.DECLARED and (obj.old_value or obj.new_value):
            return f"{obj.get_kind_display()}: {obj.old_value or '—'} → {obj.new_value or '—'}"
        return obj.get_kind_display()


class ReviewAssociationInline(AssociationInline):
    model = ReviewAssociation


class ActionItemInline(admin.TabularInline):
    """What the review asks to be done; the review's status follows these rows."""

    model = ReviewActionItem
    form = ActionItemForm
    fields = ("what", "owner", "due_date", "issue_key", "done")
    extra = 1


class SequencedAdmin(EntitySyncAdmin):
    """Shared shape of the incident and review admins, with their Jira sync (`sync_admin`)."""

    search_fields = ("external_id", "summary")
    list_select_related = ("workspace",)
    list_display_links = ("external_id", "summary")
    list_per_page = 50
    readonly_fields: ClassVar[tuple[str, ...]] = (
        "description_preview",
        "update_sequence_number",
        "last_updated",
    )
    fixed_after_creation = ("external_id", "workspace", "created_date")

    def get_readonly_fields(self, request, obj=None):
        fields = super().get_readonly_fields(request, obj)
        return (*fields, *self.fixed_after_creation) if obj else fields

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        response = super().render_change_form(request, context, add, change, form_url, obj)
        jira_sync = response.context_data.get("jira_sync")
        if jira_sync is not None:
            jira_sync["sentence"] = overview.entity_sentence(jira_sync["sites"])
        return response

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
    list_filter = (
        "status",
        "severity",
        WorkspaceFilter,
        AffectedContainerFilter,
        JiraSyncFilter,
        ("created_date", admin.DateFieldListFilter),
    )
    autocomplete_fields = ("workspace", "affected_containers")
    inlines = [IncidentAssociationInline, TimelineInline]
    actions = ["mark_resolved", *ENTITY_ACTIONS]
    sync_kind = SyncState.Kind.INCIDENT
    readonly_fields = (*SequencedAdmin.readonly_fields, "portal_page", "resolution")
    fieldsets = (
        (
            None,
            {
                "fields": (
                    "external_id",
                    "portal_page",
                    "workspace",
                    "summary",
                    "severity",
                    "status",
                    "resolution",
                )
            },
        ),
        ("People", {"fields": ("commander", "responders")}),
        (None, {"fields": ("url", "created_date", "affected_containers")}),
        ("Description (Markdown)", {"fields": ("description", "description_preview")}),
        (
            "Technical details",
            {"fields": ("update_sequence_number", "last_updated"), "classes": ("collapse",)},
        ),
    )

    def get_urls(self):
        from django.urls import path

        declare = self.admin_site.admin_view(declare_view(self))
        return [
            path("declare/", declare, name="incidents_incident_declare"),
            *super().get_urls(),
        ]

    def get_inlines(self, request, obj):
        inlines = super().get_inlines(request, obj)
        return inlines if obj else [i for i in inlines if i is not TimelineInline]

    def get_fieldsets(self, request, obj=None):
        if obj is None:  # the add page: everything typed by hand, for overrides
            return [
                (name, options) for name, options in self.fieldsets if name != "Technical details"
            ]
        return self.fieldsets

    def save_model(self, request, obj, form, change):
        obj.changed_by = request.user
        super().save_model(request, obj, form, change)

    def save_formset(self, request, form, formset, change):
        if formset.model is IncidentUpdate:
            for note_form in formset.forms:
                if note_form.instance.pk is None:
                    note_form.instance.author = request.user
                    note_form.instance.kind = IncidentUpdate.Kind.NOTE
        super().save_formset(request, form, formset, change)

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "commander":
            kwargs["queryset"] = staff_users()
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    @admin.display(description="portal page")
    def portal_page(self, obj):
        if obj is None or obj.pk is None:
            return "-"
        return format_html(
            '<a href="{}">Open the incident page</a>',
            reverse("incident-page", args=[obj.external_id]),
        )

    @admin.display(description="resolved")
    def resolution(self, obj):
        if obj is None or obj.resolved_at is None:
            return "Not resolved yet."
        took = humane_duration(obj.time_to_resolve)
        return f"{obj.resolved_at:%Y-%m-%d %H:%M} (time to resolve {took})"

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
        """One save per incident, so each timeline records who resolved it."""
        count = 0
        for incident in queryset.exclude(status=Incident.Status.RESOLVED).prefetch_related(None):
            count += workflow.change_incident(
                incident, status=Incident.Status.RESOLVED, by=request.user
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
    list_filter = (
        "status",
        WorkspaceFilter,
        JiraSyncFilter,
        ("created_date", admin.DateFieldListFilter),
    )
    autocomplete_fields = ("workspace", "incidents")
    inlines = [ActionItemInline, ReviewAssociationInline]
    actions = [*ENTITY_ACTIONS]
    sync_kind = SyncState.Kind.REVIEW
    fieldsets = (
        (
            None,
            {"fields": ("external_id", "workspace", "summary", "status", "status_follows_actions")},
        ),
        (None, {"fields": ("url", "created_date", "incidents")}),
        ("Description (Markdown)", {"fields": ("description", "description_preview")}),
        (
            "Technical details",
            {"fields": ("update_sequence_number", "last_updated"), "classes": ("collapse",)},
        ),
    )

    def get_changeform_initial_data(self, request):
        """ "Write the PIR" on an incident's page opens this form filled in for that incident."""
        initial = super().get_changeform_initial_data(request)
        pk = request.GET.get("incident", "")
        incident = Incident.objects.filter(pk=pk).first() if pk.isdigit() else None
        if incident is not None:
            initial.update(workflow.review_defaults(incident))
        return initial

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        form.instance.follow_action_items()

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
class WorkspaceAdmin(LargeListAdmin):
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
                container_total=count_of(Container.objects.all(), "workspace"),
                site_total=count_of(WorkspaceLink.objects.all(), "workspace"),
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
class ContainerAdmin(LargeListAdmin):
    list_display = ("name", "external_id", "workspace", "incident_count", "last_updated")
    list_filter = (WorkspaceFilter,)
    search_fields = ("external_id", "name")
    ordering = ("name", "pk")
    list_select_related = ("workspace",)
    autocomplete_fields = ("workspace",)
    readonly_fields = ("last_updated",)

    def get_readonly_fields(self, request, obj=None):
        fields = super().get_readonly_fields(request, obj)
        return (*fields, "external_id", "workspace") if obj else fields

    def get_changelist(self, request, **kwargs):
        return ContainerChangeList

    def get_inlines(self, request, obj):
        return [*super().get_inlines(request, obj), JiraAssociationInline]

    # Not sortable: sorting 100,000 containers by it would count every container's incidents.
    @admin.display(description="incidents")
    def incident_count(self, obj):
        return getattr(obj, "incident_total", None)


class ContainerChangeList(IndexedChangeList):
    """The container list, with the incident count of each shown container (one query)."""

    def get_results(self, request):
        super().get_results(request)
        through = Incident.affected_containers.through
        containers = list(self.result_list)
        totals = dict(
            through.objects.filter(container__in=[c.pk for c in containers])
            .order_by()
            .values("container")
            .annotate(total=Count("*"))
            .values_list("container", "total")  # type: ignore[misc]  # "total" is the annotation
        )
        for container in containers:
            container.incident_total = totals.get(container.pk, 0)
