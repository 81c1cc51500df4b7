from django.urls import path

from . import views

urlpatterns = [
    path("atlassian-connect.json", views.descriptor, name="connect-descriptor"),
    path(
        "connect/installed",
        views.lifecycle_callback,
        {"event": "installed"},
        name="connect-installed",
    ),
    path(
        "connect/uninstalled",
        views.lifecycle_callback,
        {"event": "uninstalled"},
        name="connect-uninstalled",
    ),
    path("connect/enabled", views.lifecycle_callback, {"event": "enabled"}, name="connect-enabled"),
    path(
        "connect/disabled",
        views.lifecycle_callback,
        {"event": "disabled"},
        name="connect-disabled",
    ),
]
