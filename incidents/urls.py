"""The incidents app's public URLs: Jira's actions, the REST API and alert webhooks, the
create-review page, the OpenAPI document."""

from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView

from incidents.provider import review_page

urlpatterns = [
    path("", include("incidents.provider.urls")),
    path("", include("incidents.api.urls")),
    path("", include("incidents.pages.urls")),
    path("reviews/create", review_page.create_review, name="incidents-create-review"),
    path(
        "api/schema/",
        SpectacularAPIView.as_view(urlconf="incidents.api.schema_urls"),
        name="api-schema",
    ),
]
