"""System checks: a misconfigured Connect app is reported by `manage.py check`, not by Jira.

Registered in `ConnectConfig.ready()`.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from django.conf import settings
from django.core import checks

from .descriptor import validate_settings

#: A stable check id per setting, so a deployment can silence one knowingly.
_ERROR_IDS = {
    "CONNECT_APP_KEY": "connect.E001",
    "CONNECT_MODULE_KEY": "connect.E002",
    "CONNECT_APP_NAME": "connect.E003",
    "CONNECT_APP_DESCRIPTION": "connect.E004",
    "CONNECT_VENDOR_NAME": "connect.E005",
    "CONNECT_BASE_URL": "connect.E006",
    "CONNECT_VENDOR_URL": "connect.E007",
    "CONNECT_INSTALL_KEYS_URL": "connect.E008",
    "CONNECT_ALLOWED_AUDIENCES": "connect.E009",
    "CONNECT_ALLOWED_SITE_HOSTS": "connect.E010",
    "CONNECT_JWT_LEEWAY_SECONDS": "connect.E011",
    "FIELD_ENCRYPTION_KEY": "connect.E012",
}


def check_connect_settings(app_configs=None, **kwargs) -> list[checks.CheckMessage]:
    """Errors for every Connect setting the descriptor or the JWT rules cannot work with."""
    return [
        checks.Error(
            f"{problem.setting}: {problem.message}",
            obj="settings",
            id=_ERROR_IDS.get(problem.setting, "connect.E000"),
        )
        for problem in validate_settings()
    ]


def check_connect_deploy(app_configs=None, **kwargs) -> list[checks.CheckMessage]:
    """Production needs https wherever Jira and the install-key server are involved."""
    messages: list[checks.CheckMessage] = []
    for setting, msg_id in (("CONNECT_BASE_URL", "W001"), ("CONNECT_INSTALL_KEYS_URL", "W002")):
        if urlsplit(getattr(settings, setting)).scheme != "https":
            messages.append(
                checks.Warning(
                    f"{setting} is not https; Jira Cloud only talks to https apps",
                    obj="settings",
                    id=f"connect.{msg_id}",
                )
            )
    return messages
