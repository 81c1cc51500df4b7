from django.urls import path

from . import views

urlpatterns = [
    path("atlassian-connect.json", views.descriptor, name="connect-descriptor"),
]
