"""Integrations (API and webhook tokens) and their deliveries.

Staff create an integration here and see its token once, on the page that follows, with the
Alertmanager and Grafana settings filled in; afterwards the integration's page shows the
settings with a placeholder, its recent deliveries and refusals, and the incidents they touched.
"""

from __future__ import annotations

from datetime import timedelta

from django.contrib import admin, messages
from django.db.models import Count, Q
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from incidents.admin.display import ReadOnlyAdminMixin, badge
from incidents.api.snippets import (
    alertmanager_receiver,
    curl_example,
    grafana_contact_point,
    webhook_url,
)
from incidents.models import Delivery, Integration

RECENT_DELIVERIES = 20
OUTCOME_COLOURS: dict[str, str] = {
    Delivery.Outcome.CREATED: "#de350b",
    Delivery.Outcome.UPDATED: "#ff991f",
    Delivery.Outcome.UNCHANGED: "#6b778c",
    Delivery.Outcome.RESOLVED: "#00875a",
    Delivery.Outcome.IGNORED: "#6b778c",
    Delivery.Outcome.REFUSED: "#bf2600",
}


@admin.register(Integration)
class IntegrationAdmin(admin.ModelAdmin):
    list_display = (
        "name",
        "workspace",
        "kind",
        "state",
        "last_used_at",
        "refusals_today",
        "created_at",
    )
    list_filter = ("kind", ("revoked_at", admin.EmptyFieldListFilter), "workspace")
    search_fields = ("name", "workspace__name", "workspace__external_id")
    list_select_related = ("workspace",)
    actions = ["revoke_selected"]
    autocomplete_fields = ("workspace",)
    add_fields = ("workspace", "name", "kind", "container_label", "severity_mapping")
    readonly_fields = (
        "workspace",
        "kind",
        "token_hint",
        "state",
        "created_at",
        "created_by",
        "last_used_at",
        "revoked_at",
        "endpoint",
        "alertmanager_snippet",
        "grafana_snippet",
        "recent_deliveries",
    )
    fieldsets = (
        (None, {"fields": ("workspace", "name", "kind", "state", "token_hint")}),
        ("Mapping", {"fields": ("container_label", "severity_mapping")}),
        (
            "Set-up",
            {"fields": ("endpoint", "alertmanager_snippet", "grafana_snippet")},
        ),
        ("Deliveries", {"fields": ("recent_deliveries",)}),
        ("History", {"fields": ("created_at", "created_by", "last_used_at", "revoked_at")}),
    )

    def get_fieldsets(self, request, obj=None):
        if obj is None:
            return ((None, {"fields": self.add_fields}),)
        return self.fieldsets

    def get_readonly_fields(self, request, obj=None):
        return () if obj is None else self.readonly_fields

    def get_queryset(self, request):
        since = timezone.now() - timedelta(days=1)
        return (
            super()
            .get_queryset(request)
            .annotate(
                refusal_total=Count(
                    "deliveries",
                    filter=Q(
                        deliveries__outcome=Delivery.Outcome.REFUSED,
                        deliveries__received_at__gte=since,
                    ),
                )
            )
        )

    def save_model(self, request, obj, form, change):
        if not change:
            obj._new_token = obj.set_new_token()
            obj.created_by = request.user
        super().save_model(request, obj, form, change)

    def response_add(self, request, obj, post_url_continue=None):
        """The token, once: on this page and nowhere else (not in a message or a cookie)."""
        token = getattr(obj, "_new_token", "")
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "integration": obj,
            "token": token,
            "endpoint": webhook_url(obj.kind),
            "alertmanager": alertmanager_receiver(obj, token),
            "grafana": grafana_contact_point(obj, token),
            "curl": curl_example(obj, token),
            "change_url": reverse("admin:incidents_integration_change", args=[obj.pk]),
            "title": f"Token of {obj.name}",
        }
        response = TemplateResponse(request, "admin/incidents/integration_token.html", context)
        response["Cache-Control"] = "no-store"
        return response

    @admin.action(description="Revoke the selected integrations' tokens", permissions=["change"])
    def revoke_selected(self, request, queryset):
        revoked = sum(1 for integration in queryset if integration.revoke())
        self.message_user(request, f"Revoked {revoked} integration(s).", messages.SUCCESS)

    @admin.display(description="state")
    def state(self, obj: Integration) -> SafeString:
        return badge("Active", "#00875a") if obj.is_active else badge("Revoked", "#6b778c")

    @admin.display(description="refusals (24 h)", ordering="refusal_total")
    def refusals_today(self, obj: Integration) -> int:
        return getattr(obj, "refusal_total", 0)

    @admin.display(description="endpoint")
    def endpoint(self, obj: Integration) -> SafeString:
        return format_html("<code>{}</code>", webhook_url(obj.kind))

    @admin.display(description="Alertmanager receivers: snippet")
    def alertmanager_snippet(self, obj: Integration) -> SafeString:
        return _copyable(alertmanager_receiver(obj), "alertmanager-snippet")

    @admin.display(description="Grafana contact point")
    def grafana_snippet(self, obj: Integration) -> SafeString:
        return _copyable(grafana_contact_point(obj), "grafana-snippet")

    @admin.display(description="recent deliveries")
    def recent_deliveries(self, obj: Integration) -> SafeString:
        deliveries = list(
            obj.deliveries.prefetch_related("incidents").order_by("-received_at", "-pk")[
                :RECENT_DELIVERIES
            ]
        )
        all_url = (
            reverse("admin:incidents_delivery_changelist") + f"?integration__id__exact={obj.pk}"
        )
        if not deliveries:
            return format_html('None yet. <a href="{}">All deliveries</a>', all_url)
        rows = format_html_join(
            "",
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            (
                (
                    f"{d.received_at:%Y-%m-%d %H:%M:%S}",
                    d.get_endpoint_display(),
                    badge(d.get_outcome_display(), OUTCOME_COLOURS[d.outcome]),
                    d.status_code,
                    incident_links(d),
                    d.error[:300],
                )
                for d in deliveries
            ),
        )
        return format_html(
            '<table id="recent-deliveries"><tr><th>Received</th><th>Endpoint</th>'
            "<th>Outcome</th><th>Status</th><th>Incidents</th><th>Error</th></tr>{}</table>"
            '<p><a href="{}">All deliveries of this integration</a></p>',
            rows,
            all_url,
        )


@admin.register(Delivery)
class DeliveryAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = (
        "received_at",
        "integration",
        "endpoint",
        "outcome_badge",
        "status_code",
        "touched",
        "short_error",
    )
    list_filter = ("outcome", "endpoint", "integration")
    list_select_related = ("integration", "integration__workspace")
    date_hierarchy = "received_at"
    fields = (
        "integration",
        "endpoint",
        "received_at",
        "outcome",
        "status_code",
        "group_key",
        "touched",
        "error",
    )
    readonly_fields = fields

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("incidents")

    @admin.display(description="outcome", ordering="outcome")
    def outcome_badge(self, obj: Delivery) -> SafeString:
        return badge(obj.get_outcome_display(), OUTCOME_COLOURS[obj.outcome])

    @admin.display(description="incidents")
    def touched(self, obj: Delivery) -> SafeString:
        return incident_links(obj)

    @admin.display(description="error")
    def short_error(self, obj: Delivery) -> str:
        return obj.error[:120]


def incident_links(delivery: Delivery) -> SafeString:
    return format_html_join(
        ", ",
        '<a href="{}">{}</a>',
        (
            (reverse("admin:incidents_incident_change", args=[i.pk]), i.external_id)
            for i in delivery.incidents.all()
        ),
    )


def _copyable(text: str, element_id: str) -> SafeString:
    return format_html(
        '<pre id="{}" style="user-select:all;white-space:pre-wrap;margin:0">{}</pre>',
        element_id,
        text,
    )
