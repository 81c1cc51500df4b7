"""The action URLs Jira calls; the descriptor names them (`incidents.provider.descriptor`).

Kept in their own module so the OpenAPI document (/api/schema/) covers exactly these.
"""

from django.urls import path

from incidents.provider import views

urlpatterns = [
    path(
        "jira/operations/workspaces",
        views.FetchWorkspacesView.as_view(),
        name="operations-fetch-workspaces",
    ),
    path(
        "jira/operations/containers/search",
        views.SearchContainersView.as_view(),
        name="operations-search-containers",
    ),
    path(
        "jira/operations/containers/associated",
        views.EntityAssociatedView.as_view(),
        name="operations-entity-associated",
    ),
    path(
        "jira/operations/containers/disassociated",
        views.EntityDisassociatedView.as_view(),
        name="operations-entity-disassociated",
    ),
]
