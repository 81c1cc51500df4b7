"""The portal's URLs: the admin, the Connect plumbing and the operations actions."""

from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    # Jira's actions (named in the descriptor; JWT-protected), /reviews/create, /api/schema/.
    path("", include("incidents.urls")),
    path("", include("connect.urls")),
]
