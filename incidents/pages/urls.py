from django.urls import path

from incidents.pages import views

urlpatterns = [
    path("incidents/<str:external_id>/", views.incident_page, name="incident-page"),
]
