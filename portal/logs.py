"""Log output of the web processes, the sync workers and gunicorn: plain text or JSON lines.

Connect JWTs travel in `?jwt=` query strings (Jira's iframe and action calls) and in
`Authorization: JWT …` headers, and a request line, a referer or an exception message can carry
them into any logger: Django's, gunicorn's or ours. So the formatters redact tokens from the whole
formatted line (message, extra fields, traceback) rather than trusting every caller.

Used by `portal/settings.py` (LOGGING) and `gunicorn.conf.py` (logconfig_dict), so the web
server's own lines look like the application's. Imported while settings load: no Django settings
here.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from django.core.exceptions import ImproperlyConfigured
from pythonjsonlogger.core import RESERVED_ATTRS
from pythonjsonlogger.json import JsonFormatter as BaseJsonFormatter

REDACTED = "[redacted]"
#: `jwt=<anything>` (or `jwt%3D` inside an encoded URL) up to the next query separator or quote
#: (a backslash is kept, so an escaped quote in a JSON line stays intact).
_QUERY_TOKEN = re.compile(r"(?i)(jwt(?:=|%3D))[^&;%\s\"'#\\]+")
#: A compact JWS anywhere: a base64url JSON header (`{"` encodes to `eyJ`), payload, signature.
_TOKEN = re.compile(r"eyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*")

FORMATS = ("text", "json")
LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s %(message)s"
JSON_FIELDS = "%(asctime)s %(levelname)s %(name)s %(process)d %(message)s"


def redact(text: str) -> str:
    """`text` with every Connect JWT and `jwt=` query value replaced by a marker."""
    return _TOKEN.sub(REDACTED, _QUERY_TOKEN.sub(r"\1" + REDACTED, text))


class TextFormatter(logging.Formatter):
    """One line per record, tokens redacted."""

    def __init__(self, fmt: str = TEXT_FORMAT, **kwargs: Any) -> None:
        super().__init__(fmt, **kwargs)

    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record))


class JsonFormatter(BaseJsonFormatter):
    """One JSON object per record: time, level, logger, process, message and every `extra=`
    field as its own key (so `operation`, `status`, `duration_ms`… can be queried); tokens
    redacted. Django's `request` extra is left out: its repr is the full URL with the query."""

    def __init__(self, fmt: str = JSON_FIELDS, **kwargs: Any) -> None:
        kwargs.setdefault(
            "rename_fields", {"asctime": "time", "levelname": "level", "name": "logger"}
        )
        kwargs.setdefault("reserved_attrs", [*RESERVED_ATTRS, "request"])
        super().__init__(fmt, **kwargs)

    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record))


def logging_config(log_format: str = "text", level: str = "INFO") -> dict[str, Any]:
    """A `logging.config.dictConfig` dictionary: everything to stderr through one handler.

    Django's own loggers (`django`, `django.server`) and gunicorn's (`gunicorn.error`,
    `gunicorn.access`) lose the handlers they bring and go through it too, so none of them prints
    an unredacted line.
    """
    log_format = log_format.strip().lower()
    level = level.strip().upper()
    if log_format not in FORMATS:
        raise ImproperlyConfigured(
            f"LOG_FORMAT must be one of {', '.join(FORMATS)}, not {log_format!r}"
        )
    if level not in LEVELS:
        raise ImproperlyConfigured(f"LOG_LEVEL must be one of {', '.join(LEVELS)}, not {level!r}")
    formatter = JsonFormatter if log_format == "json" else TextFormatter
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"portal": {"()": f"{__name__}.{formatter.__name__}"}},
        "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "portal"}},
        "root": {"handlers": ["console"], "level": level},
        "loggers": {
            "django": {"level": level, "propagate": True},
            "django.server": {"level": level, "propagate": True},
            "django.db.backends": {"level": "WARNING"},
            "gunicorn.error": {"level": level, "propagate": True},
            "gunicorn.access": {"level": level, "propagate": True},
            # django-axes announces its configuration in every process at start-up; its
            # failed-login and lockout lines come from its other loggers and stay.
            "axes.apps": {"level": "WARNING"},
        },
    }
