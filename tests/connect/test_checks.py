"""Misconfiguration is reported by `manage.py check`; production settings pass `--deploy`."""

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import SystemCheckError

from connect.checks import check_connect_deploy, check_connect_settings
from connect.descriptor import validate_settings

ROOT = Path(__file__).resolve().parents[2]


def problems_with(settings, **overrides):
    for name, value in overrides.items():
        setattr(settings, name, value)
    return {problem.setting for problem in validate_settings()}


def test_default_test_settings_are_valid():
    assert validate_settings() == []


@pytest.mark.parametrize(
    ("setting", "value"),
    [
        ("CONNECT_APP_KEY", "has space"),
        ("CONNECT_APP_KEY", "a" * 81),
        ("CONNECT_APP_KEY", ""),
        ("CONNECT_MODULE_KEY", "dots.not.allowed"),
        ("CONNECT_MODULE_KEY", "m" * 101),
        ("CONNECT_APP_NAME", ""),
        ("CONNECT_APP_DESCRIPTION", "d" * 1401),
        ("CONNECT_BASE_URL", "ops.example.com"),
        ("CONNECT_BASE_URL", "ftp://ops.example.com"),
        ("CONNECT_BASE_URL", "https://ops.example.com?x=1"),
        ("CONNECT_BASE_URL", "https://user:pw@ops.example.com"),
        ("CONNECT_BASE_URL", "https://ops.example.com/prefix/"),
        ("CONNECT_BASE_URL", "https://ops.example.com/" + "p" * 200),
        ("CONNECT_VENDOR_URL", "not a url"),
        ("CONNECT_INSTALL_KEYS_URL", "connect-install-keys.atlassian.com"),
        ("CONNECT_ALLOWED_AUDIENCES", ["relative/path"]),
        ("CONNECT_ALLOWED_SITE_HOSTS", []),
        ("CONNECT_ALLOWED_SITE_HOSTS", ["https://x.atlassian.net"]),
        ("CONNECT_JWT_LEEWAY_SECONDS", 300),
        ("CONNECT_JWT_LEEWAY_SECONDS", -1),
        ("FIELD_ENCRYPTION_KEY", "not-a-fernet-key"),
    ],
)
def test_bad_setting_is_reported(settings, setting, value):
    assert problems_with(settings, **{setting: value}) == {setting}


def test_reported_as_system_check_errors_with_stable_ids(settings):
    settings.CONNECT_MODULE_KEY = "bad key"
    messages = check_connect_settings()
    assert [message.id for message in messages] == ["connect.E002"]
    assert "CONNECT_MODULE_KEY" in messages[0].msg


def test_manage_check_fails_on_a_bad_app_key(settings):
    settings.CONNECT_APP_KEY = "not allowed!"
    with pytest.raises(SystemCheckError, match="CONNECT_APP_KEY"):
        call_command("check")


def test_deploy_check_wants_https(settings):
    settings.CONNECT_BASE_URL = "http://ops.example.com"
    assert [message.id for message in check_connect_deploy()] == ["connect.W001"]
    settings.CONNECT_BASE_URL = "https://ops.example.com"
    assert check_connect_deploy() == []


def production_env(**overrides):
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": os.environ.get("HOME", "/tmp"),
        "SECRET_KEY": secrets.token_urlsafe(50),
        "DEBUG": "false",
        "ALLOWED_HOSTS": "ops.example.com",
        "CONNECT_BASE_URL": "https://ops.example.com",
        "CONNECT_VENDOR_URL": "https://example.com",
        "SECURE_SSL_REDIRECT": "true",
        "SESSION_COOKIE_SECURE": "true",
        "CSRF_COOKIE_SECURE": "true",
        "DATABASE_URL": os.environ.get("DATABASE_URL", "sqlite:///var/portal.sqlite3"),
    }
    env.update(overrides)
    return env


def run_check(env):
    return subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_check_deploy_with_production_settings_reports_nothing():
    result = run_check(production_env())
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


def test_check_deploy_reports_a_plain_http_base_url():
    result = run_check(production_env(CONNECT_BASE_URL="http://ops.example.com"))
    assert "connect.W001" in result.stdout + result.stderr
