"""The URLs the OpenAPI document at /api/schema/ covers: Jira's actions and the API."""

from django.urls import include, path

urlpatterns = [
    path("", include("incidents.provider.urls")),
    path("", include("incidents.api.urls")),
]
