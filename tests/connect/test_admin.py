"""The Installation admin: read-only, secret never shown, deletion for superusers only."""

import pytest
from django.contrib.admin.sites import AdminSite
from django.test import RequestFactory

from connect.admin import InstallationAdmin
from connect.models import Installation

from .support import make_installation

pytestmark = pytest.mark.django_db

SECRET = "admin-visible-never-" + "v" * 64


@pytest.fixture
def installation():
    return make_installation("site-a", SECRET, display_url="https://ops.site-a.example")


@pytest.fixture
def model_admin():
    return InstallationAdmin(Installation, AdminSite())


def request_by(user):
    request = RequestFactory().get("/admin/")
    request.user = user
    return request


@pytest.fixture
def staff(django_user_model):
    return django_user_model.objects.create_user("staff", is_staff=True)


def test_nobody_adds_or_edits(model_admin, admin_user, installation):
    request = request_by(admin_user)
    assert not model_admin.has_add_permission(request)
    assert not model_admin.has_change_permission(request, installation)


def test_only_superusers_delete(model_admin, admin_user, staff, installation):
    assert model_admin.has_delete_permission(request_by(admin_user), installation)
    assert not model_admin.has_delete_permission(request_by(staff), installation)


def test_secret_is_not_a_field(model_admin, admin_user, installation):
    fields = model_admin.get_fields(request_by(admin_user), installation)
    assert "shared_secret_encrypted" not in fields
    assert "client_key" in fields


def test_site_column_prefers_the_display_url(model_admin, installation):
    assert model_admin.site(installation) == "https://ops.site-a.example"


def test_pages_never_show_the_secret(admin_client, installation):
    changelist = admin_client.get("/admin/connect/installation/")
    detail = admin_client.get(f"/admin/connect/installation/{installation.pk}/change/")
    assert changelist.status_code == detail.status_code == 200
    for page in (changelist, detail):
        html = page.content.decode()
        assert SECRET not in html
        assert installation.shared_secret_encrypted not in html
    assert "site-a" in changelist.content.decode()


def test_search_by_client_key(admin_client, installation):
    make_installation("site-b", SECRET)
    page = admin_client.get("/admin/connect/installation/", {"q": "site-b"}).content.decode()
    assert "site-b" in page and "ops.site-a.example" not in page


def test_the_admin_calls_them_jira_sites(admin_client, installation):
    """As the docs and the rest of the admin do (linked Jira sites, the sync's Jira site)."""
    index = admin_client.get("/admin/").content.decode()
    assert '<a href="/admin/connect/installation/">Jira sites</a>' in index
    assert "Installations" not in index
    changelist = admin_client.get("/admin/connect/installation/").content.decode()
    assert "Select Jira site to view" in changelist
