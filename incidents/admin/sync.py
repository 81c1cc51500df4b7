"""The sync in the admin: where each incident and review stands on each Jira site, the actions
that send or delete by hand, each site's backlog with "Resume sending", and a read-only list of
the outbox rows.

Thin on purpose: what the actions do is in `incidents.sync.staff`, what the pages say is in
`incidents.sync.report`.
"""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.admin.utils import model_ngettext
from django.db.models import Q
from django.http import HttpRequest, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.text import Truncator

from connect.models import Installation
from incidents.admin.display import ReadOnlyAdminMixin, badge
from incidents.admin.lists import IndexedChangeList, LargeListAdmin
from incidents.models.outbox import SyncState
from incidents.sync import report as sync_report
from incidents.sync import staff as sync_actions

Kind = SyncState.Kind
# Sent by the buttons on an incident, review or site page, so an action returns to that page.
FROM_CHANGE_PAGE = "_jira_sync_from_change"
ENTITY_ACTIONS = ("send_to_jira_now", "resend_everything_to_jira", "delete_from_jira")
CHANGELIST_OF_KIND = {
    Kind.INCIDENT: "admin:incidents_incident_changelist",
    Kind.REVIEW: "admin:incidents_postincidentreview_changelist",
    Kind.WORKSPACE: "admin:incidents_workspace_changelist",
}
# Entities named on the "Delete from Jira" confirmation page; beyond that, a count.
CONFIRMATION_NAMES_SHOWN = 100


def _plural(count: int, noun: str, plural: str = "") -> str:
    return f"{count} {noun if count == 1 else plural or noun + 's'}"


def _back_to_change_page(request: HttpRequest, model_admin, queryset):
    """After an action started from an object's own page, go back to that page."""
    if request.POST.get(FROM_CHANGE_PAGE):
        pks = list(queryset.values_list("pk", flat=True)[:2])
        if len(pks) == 1:
            opts = model_admin.model._meta
            return HttpResponseRedirect(
                reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[pks[0]])
            )
    return None


class JiraSyncFilter(admin.SimpleListFilter):
    """Incidents or reviews by where they stand in Jira, over all their sites."""

    title = "Jira sync"
    parameter_name = "jira_sync"

    def lookups(self, request, model_admin):
        return [(value, label) for value, (label, _) in sync_report.SYNC_FILTERS.items()]

    def queryset(self, request, queryset):
        value = self.value()
        if not value:
            return queryset
        return sync_report.filter_by_sync(queryset, value)


class EntitySyncAdmin(LargeListAdmin):
    """What the incident and review admins share about the sync: a badge column (the entity's
    own `sync_flags` summary), the "Jira sync" filter, three actions, and the per-site table on
    the change page (`templates/admin/incidents/sync_change_form.html`)."""

    sync_kind: str
    change_form_template = "admin/incidents/sync_change_form.html"

    # The summary's bits sort never sent (0) < synced < deleted < pending < retrying < failed.
    @admin.display(description="Jira sync", ordering="sync_flags")
    def jira_sync(self, obj):
        word = sync_report.word_of_flags(obj.sync_flags)
        if word is None:
            return format_html('<span title="{}">—</span>', "Never sent to any Jira site")
        return badge(word, sync_report.COLOURS[word])

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        if obj is not None and not add:
            opts = self.model._meta
            context["jira_sync"] = {
                "sites": sync_report.entity_site_states(self.sync_kind, obj),
                "noun": opts.verbose_name,
                "workspace": obj.workspace,
                "can_act": self.has_change_permission(request, obj),
                "changelist_url": reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist"),
                "from_change_page": FROM_CHANGE_PAGE,
            }
        return super().render_change_form(request, context, add, change, form_url, obj)

    def _entities(self, queryset):
        return queryset.prefetch_related(None).order_by().values_list("external_id", "workspace_id")

    def _report(self, request, verb: str, result: sync_actions.Queued, *, skipped_hint="") -> None:
        noun = self.model._meta.verbose_name
        if result.rows:
            self.message_user(
                request,
                f"{verb} {_plural(result.queued, noun)}"
                f" on {_plural(result.sites, 'Jira site')} ({_plural(result.rows, 'site row')}); "
                "the sync worker sends within seconds.",
                messages.SUCCESS,
            )
        else:
            self.message_user(request, f"Nothing queued: {verb.lower()} 0 {noun}s.", messages.INFO)
        if result.already_in_sync:
            self.message_user(
                request,
                f"{_plural(result.already_in_sync, noun)} already in sync on every site; "
                f"left alone.{skipped_hint}",
                messages.INFO,
            )
        if result.on_no_site:
            self.message_user(
                request,
                f"{_plural(result.on_no_site, noun)} go to no Jira site: link the workspace to a "
                "site on the workspace's page first.",
                messages.WARNING,
            )
        if result.waiting_sites:
            self.message_user(
                request,
                "Not sent yet to " + ", ".join(result.waiting_sites) + ": the site is paused, "
                "needs attention or has uninstalled the app. See the site's page.",
                messages.WARNING,
            )

    @admin.action(
        description="Send to Jira now (retry what is pending or failed)", permissions=["change"]
    )
    def send_to_jira_now(self, request, queryset):
        result = sync_actions.send_now(self.sync_kind, self._entities(queryset))
        self._report(
            request,
            "Queued",
            result,
            skipped_hint=" Use “Resend everything to Jira” to send them anyway.",
        )
        return _back_to_change_page(request, self, queryset)

    @admin.action(
        description="Resend everything to Jira (every linked site, even if in sync)",
        permissions=["change"],
    )
    def resend_everything_to_jira(self, request, queryset):
        result = sync_actions.resend_everything(self.sync_kind, self._entities(queryset))
        self._report(request, "Queued for resending", result)
        return _back_to_change_page(request, self, queryset)

    @admin.action(description="Delete from Jira (keep in the portal)…", permissions=["change"])
    def delete_from_jira(self, request, queryset):
        entities = list(self._entities(queryset))
        if request.POST.get("post") == "yes":
            result = sync_actions.delete_from_jira(self.sync_kind, entities)
            self._report(request, "Queued the delete from Jira of", result)
            return _back_to_change_page(request, self, queryset)
        return self._delete_confirmation(request, queryset, entities)

    def _delete_confirmation(self, request, queryset, entities):
        opts = self.model._meta
        select_across = request.POST.get("select_across") == "1"
        site_counts = sync_actions.sites_for(self.sync_kind, entities)
        sites = [
            (site, f"{site_counts[site.pk]} {model_ngettext(opts, site_counts[site.pk])}")
            for site in Installation.objects.filter(pk__in=site_counts).order_by("base_url")
        ]
        shown = queryset.prefetch_related(None).order_by("external_id")[:CONFIRMATION_NAMES_SHOWN]
        # "Select all N" goes back as such (the list's filters are in the URL), not as N ids,
        # which could exceed DATA_UPLOAD_MAX_NUMBER_FIELDS; the admin still wants one id.
        pks = queryset.values_list("pk", flat=True)
        if select_across:
            pks = pks[:1]
        context = {
            **self.admin_site.each_context(request),
            "title": f"Delete {len(entities)} {model_ngettext(opts, len(entities))} from Jira?",
            "subtitle": None,
            "opts": opts,
            "media": self.media,
            "noun_plural": opts.verbose_name_plural,
            "entities": shown,
            "more": max(0, len(entities) - CONFIRMATION_NAMES_SHOWN),
            "select_across": select_across,
            "pks": pks,
            "sites": sites,
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
            "from_change_page": FROM_CHANGE_PAGE if request.POST.get(FROM_CHANGE_PAGE) else "",
        }
        request.current_app = self.admin_site.name
        return TemplateResponse(
            request, "admin/incidents/delete_from_jira_confirmation.html", context
        )


# --- Jira sites: backlog, errors, "Resume sending" ----------------------------------------------


class SiteChangeList(IndexedChangeList):
    """The site list, with each shown site's backlog and failed count (one more query)."""

    def get_results(self, request):
        super().get_results(request)
        sync_report.attach_site_figures(list(self.result_list))


SITE_SYNC_FIELDS = (
    "sync_relay_state",
    "sync_backlog",
    "sync_failed",
    "sync_withheld",
    "sync_last_success",
    "sync_last_error",
    "sync_paused_until",
    "sync_needs_attention",
    "sync_unknown_project_keys",
)


def _sync_state_list(installation: Installation, **filters) -> str:
    return (
        reverse("admin:incidents_syncstate_changelist")
        + "?"
        + urlencode({"installation__id__exact": installation.pk, **filters})
    )


class SiteSyncAdmin(LargeListAdmin):
    """The sync columns, fieldset and "Resume sending" action of the Jira site admin.

    Resuming needs `incidents.change_sitesyncstatus` (the relay's health record), not any right
    on the installation itself, which stays read-only."""

    actions = ["resume_sending"]
    change_form_template = "admin/incidents/installation_change_form.html"
    list_select_related = ("sync_status",)

    def get_changelist(self, request, **kwargs):
        return SiteChangeList

    def get_list_display(self, request):
        """The sync columns right after the site's name, where a glance finds them."""
        columns = list(super().get_list_display(request))
        at = columns.index("site") + 1 if "site" in columns else len(columns)
        columns[at:at] = ["sync_relay_badge", "backlog", "failed", "last_sync_error"]
        return tuple(columns)

    def get_fieldsets(self, request, obj=None):
        return [
            (None, {"fields": self.get_fields(request, obj)}),
            (
                "Jira sync",
                {
                    "fields": SITE_SYNC_FIELDS,
                    "description": "What the sync worker still has to send to this site, and "
                    "what went wrong last.",
                },
            ),
        ]

    def get_fields(self, request, obj=None):
        return [f for f in super().get_fields(request, obj) if f not in SITE_SYNC_FIELDS]

    def get_readonly_fields(self, request, obj=None):
        return (*super().get_readonly_fields(request, obj), *SITE_SYNC_FIELDS)

    def has_resume_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("incidents.change_sitesyncstatus")

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        if obj is not None:
            status = sync_report.site_status_of(obj)
            context["site_sync"] = {
                "can_resume": self.has_resume_permission(request),
                "held": bool(status and (status.needs_attention or status.paused_until)),
                "changelist_url": reverse("admin:connect_installation_changelist"),
                "from_change_page": FROM_CHANGE_PAGE,
            }
        return super().render_change_form(request, context, add, change, form_url, obj)

    # List columns (annotated: one query for the page)

    @admin.display(description="sync")
    def sync_relay_badge(self, obj):
        return badge(*sync_report.site_health(obj))

    @admin.display(description="backlog")
    def backlog(self, obj):
        return obj.sync_backlog

    @admin.display(description="failed")
    def failed(self, obj):
        return obj.sync_failed

    @admin.display(description="last error")
    def last_sync_error(self, obj):
        status = sync_report.site_status_of(obj)
        if not status or not status.last_error:
            return "—"
        return format_html(
            '<span title="{}">{}</span><br><small>{}</small>',
            status.last_error,
            Truncator(status.last_error).chars(80),
            sync_report.moment(status.last_error_at),
        )

    # Change page fields

    def _figures(self, obj) -> sync_report.SiteFigures:
        if not hasattr(obj, "_sync_figures"):
            obj._sync_figures = sync_report.site_figures(obj.pk)
        return obj._sync_figures

    @admin.display(description="relay state")
    def sync_relay_state(self, obj):
        label, colour = sync_report.site_health(obj)
        return badge(label, colour)

    @admin.display(description="backlog")
    def sync_backlog(self, obj):
        figures = self._figures(obj)
        if not figures.backlog:
            return "Nothing waiting to be sent."
        return format_html(
            '<a href="{}">{}</a> waiting to be sent, {} of them waiting to retry; '
            "oldest queued {}.",
            _sync_state_list(obj, pending__exact=1),
            _plural(figures.backlog, "change"),
            figures.retrying,
            sync_report.moment(figures.oldest_pending),
        )

    @admin.display(description="failed")
    def sync_failed(self, obj):
        figures = self._figures(obj)
        if not figures.failed:
            return "None: Jira accepted everything sent."
        return format_html(
            '<a href="{}">{}</a> refused by Jira (not resent until they change).',
            _sync_state_list(obj, status="failed"),
            _plural(figures.failed, "entity", "entities"),
        )

    @admin.display(description="deleted from Jira by staff")
    def sync_withheld(self, obj):
        count = self._figures(obj).withheld
        if not count:
            return "None."
        return format_html(
            '<a href="{}">{}</a>',
            _sync_state_list(obj, status="withheld"),
            _plural(count, "entity", "entities"),
        )

    @admin.display(description="last successful send")
    def sync_last_success(self, obj):
        status = sync_report.site_status_of(obj)
        return sync_report.moment(status.last_success_at if status else None)

    @admin.display(description="last error")
    def sync_last_error(self, obj):
        status = sync_report.site_status_of(obj)
        if not status or not status.last_error:
            return "None."
        return f"{status.last_error} — {sync_report.moment(status.last_error_at)}"

    @admin.display(description="paused until")
    def sync_paused_until(self, obj):
        status = sync_report.site_status_of(obj)
        if not status or not status.paused_until:
            return "Not paused."
        return sync_report.moment(status.paused_until)

    @admin.display(description="needs attention", boolean=True)
    def sync_needs_attention(self, obj):
        status = sync_report.site_status_of(obj)
        return bool(status and status.needs_attention)

    @admin.display(description="unknown project keys")
    def sync_unknown_project_keys(self, obj):
        status = sync_report.site_status_of(obj)
        keys = status.unknown_project_keys if status else []
        if not keys:
            return "None reported."
        return format_html(
            "{} <br><small>Jira reported these project keys as unknown on this site: check "
            "the issue keys associated with incidents and reviews.</small>",
            format_html_join(", ", "<code>{}</code>", ((key,) for key in keys)),
        )

    @admin.action(description="Resume sending to the selected sites", permissions=["resume"])
    def resume_sending(self, request, queryset):
        result = sync_actions.resume_sending(queryset.order_by().values_list("pk", flat=True))
        self.message_user(
            request,
            f"Resumed sending to {_plural(result.sites, 'Jira site')}; "
            f"{_plural(result.rows, 'pending change')} will be sent at once.",
            messages.SUCCESS,
        )
        if result.inactive_sites:
            self.message_user(
                request,
                "Still not sent to " + ", ".join(result.inactive_sites) + ": the app is "
                "uninstalled or disabled there.",
                messages.WARNING,
            )
        return _back_to_change_page(request, self, queryset)


# --- The outbox rows, read-only -------------------------------------------------------------


class SyncStatusFilter(admin.SimpleListFilter):
    title = "status"
    parameter_name = "status"
    CONDITIONS = {
        "synced": (
            "Synced",
            Q(pending=False, error="", present_in_jira=True, verify_at__isnull=True),
        ),
        "pending": ("Pending", Q(pending=True, error="", last_attempt_error="")),
        "retrying": ("Waiting to retry", Q(pending=True, error="") & ~Q(last_attempt_error="")),
        "failed": ("Failed", ~Q(error="")),
        "deleted": (
            "Deleted",
            Q(pending=False, error="") & (Q(present_in_jira=False) | Q(verify_at__isnull=False)),
        ),
        "withheld": ("Deleted from Jira by staff", Q(pending=False, withheld=True)),
    }

    def lookups(self, request, model_admin):
        return [(value, label) for value, (label, _) in self.CONDITIONS.items()]

    def queryset(self, request, queryset):
        value = self.value()
        if value is not None and value in self.CONDITIONS:
            return queryset.filter(self.CONDITIONS[value][1])
        return queryset


@admin.register(SyncState)
class SyncStateAdmin(ReadOnlyAdminMixin, LargeListAdmin):
    """Every (site, entity) row of the outbox, to look at only: the relay and the actions on
    incidents, reviews and sites are the only writers."""

    list_display = (
        "entity",
        "kind",
        "site",
        "status_badge",
        "synced_at",
        "sent_sequence_number",
        "changed_at",
        "next_attempt_at",
        "attempts",
        "error_summary",
    )
    list_filter = ("installation", "kind", SyncStatusFilter, "pending")
    actions = ["send_again"]
    search_fields = ("external_id",)
    list_select_related = ("installation", "installation__sync_status")
    ordering = ("-changed_at", "-pk")
    # The outbox is the most written table: one index serves the list's order (newest change
    # first, or oldest), rather than one index per column on every write of the relay.
    sortable_by = ("changed_at",)
    list_per_page = 100
    readonly_fields = [f.name for f in SyncState._meta.fields if f.name != "id"]

    @admin.display(description="id", ordering="external_id")
    def entity(self, obj):
        url = reverse(CHANGELIST_OF_KIND[obj.kind]) + "?" + urlencode({"q": obj.external_id})
        return format_html('<a href="{}">{}</a>', url, obj.external_id)

    @admin.display(description="Jira site", ordering="installation__base_url")
    def site(self, obj):
        return str(obj.installation)

    @admin.display(description="status")
    def status_badge(self, obj):
        word, summary, _ = sync_report.describe(obj, obj.installation, linked=True)
        return badge(summary, sync_report.COLOURS[word])

    def has_resend_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("incidents.change_sitesyncstatus")

    @admin.action(description="Send the selected rows to Jira again", permissions=["resend"])
    def send_again(self, request, queryset):
        rows = sync_actions.send_rows_again(queryset.order_by().values_list("pk", flat=True))
        self.message_user(
            request,
            f"{_plural(rows, 'row')} will be sent to Jira at once, refusals and backoff forgotten.",
            messages.SUCCESS,
        )

    @admin.display(description="error")
    def error_summary(self, obj):
        text = obj.error or obj.last_attempt_error
        return Truncator(text).chars(80) if text else ""
