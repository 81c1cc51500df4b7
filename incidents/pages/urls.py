from django.urls import path

from incidents.pages import views

urlpatterns = [
    path("", views.home, name="home"),
    path("incidents/<str:external_id>/", views.incident_page, name="incident-page"),
    path("incidents/<str:external_id>/notes/", views.add_note, name="incident-add-note"),
    path("incidents/<str:external_id>/actions/", views.quick_action, name="incident-action"),
]
