"""The portal's URLs: the admin, the Connect plumbing and the operations actions."""

from django.contrib import admin
from django.urls import include, path

from connect.views import ActionNotImplementedView

urlpatterns = [
    path("admin/", admin.site.urls),
    path("", include("connect.urls")),
    # Jira's jiraOperationsInfoProvider actions (named in the descriptor; JWT-protected).
    path(
        "jira/operations/workspaces",
        ActionNotImplementedView.as_view(),
        name="operations-fetch-workspaces",
    ),
    path(
        "jira/operations/containers/search",
        ActionNotImplementedView.as_view(),
        name="operations-search-containers",
    ),
    path(
        "jira/operations/containers/associated",
        ActionNotImplementedView.as_view(),
        name="operations-entity-associated",
    ),
    path(
        "jira/operations/containers/disassociated",
        ActionNotImplementedView.as_view(),
        name="operations-entity-disassociated",
    ),
]
