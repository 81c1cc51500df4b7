"""The portal's URLs: the admin, the Connect plumbing and the operations actions."""

from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    path("", include("connect.urls")),
]
