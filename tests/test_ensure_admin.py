"""`make run`'s first admin login: random, printed once, kept readable by its owner only."""

import stat

import pytest
from django.contrib.auth import authenticate, get_user_model
from django.core.management import call_command
from django.test import RequestFactory

pytestmark = pytest.mark.django_db


def test_the_first_run_creates_an_admin_with_a_random_password(tmp_path, capsys):
    path = tmp_path / "admin-password.txt"
    call_command("ensure_admin", "--password-file", str(path))
    username, password = path.read_text().split()
    assert username == "admin" and len(password) >= 20
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert password in capsys.readouterr().out
    # django-axes counts attempts per address, so authentication is always given the request.
    request = RequestFactory().post("/admin/login/")
    user = authenticate(request, username="admin", password=password)
    assert user is not None and user.is_superuser


def test_a_second_run_leaves_the_existing_admin_alone(tmp_path):
    first = tmp_path / "first.txt"
    call_command("ensure_admin", "--password-file", str(first))
    call_command("ensure_admin", "--password-file", str(tmp_path / "second.txt"))
    assert get_user_model().objects.filter(is_superuser=True).count() == 1
    assert not (tmp_path / "second.txt").exists()
