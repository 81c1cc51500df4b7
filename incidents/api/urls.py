"""The REST API and the alert webhooks, under /api/v1/ (docs/api.md)."""

from django.urls import path

from incidents.api import hooks, views

urlpatterns = [
    path("api/v1/incidents/", views.IncidentListView.as_view(), name="api-incidents"),
    path(
        "api/v1/incidents/<str:incident_id>/",
        views.IncidentDetailView.as_view(),
        name="api-incident",
    ),
    path(
        "api/v1/incidents/<str:incident_id>/updates/",
        views.IncidentUpdatesView.as_view(),
        name="api-incident-updates",
    ),
    path(
        "api/v1/hooks/alertmanager/",
        hooks.AlertmanagerWebhook.as_view(),
        name="api-hook-alertmanager",
    ),
    path("api/v1/hooks/grafana/", hooks.GrafanaWebhook.as_view(), name="api-hook-grafana"),
    path("api/v1/hooks/generic/", hooks.GenericWebhook.as_view(), name="api-hook-generic"),
]
