"""Settings, all read from the environment (see `.env.example` for each variable)."""

from datetime import timedelta
from pathlib import Path

import environ

from portal.logs import logging_config

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
if (BASE_DIR / ".env").exists():
    environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

DEBUG = env.bool("DEBUG", default=False)
SECRET_KEY = env.str("SECRET_KEY", default="")
if not SECRET_KEY:
    from django.core.exceptions import ImproperlyConfigured

    raise ImproperlyConfigured(
        "SECRET_KEY is not set. Set it in the environment or in .env "
        "(`make run` writes a random one for local use)."
    )
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
# Take the host from X-Forwarded-Host: only behind a proxy that sets it (docs/deploy.md).
USE_X_FORWARDED_HOST = env.bool("USE_X_FORWARDED_HOST", default=False)

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "axes",
    "portal",
    "connect",
    "incidents",
]

MIDDLEWARE = [
    # /healthz answers first: before host validation and the HTTPS redirect (portal/health.py).
    "portal.health.HealthCheckMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last, as django-axes asks: turns a locked-out login into its 429 answer.
    "axes.middleware.AxesMiddleware",
]

# django-axes first: it refuses a locked-out user/address before any password is checked.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]

ROOT_URLCONF = "portal.urls"
WSGI_APPLICATION = "portal.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'var' / 'portal.sqlite3'}"),
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {"transaction_mode": "IMMEDIATE", "timeout": 20, "init_command": "PRAGMA journal_mode=WAL;"}
    )
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = env.str("TIME_ZONE", default="UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
# Where collectstatic puts the files gunicorn serves through whitenoise (relative to the project).
STATIC_ROOT = BASE_DIR / env.str("STATIC_ROOT", default="var/static")
# Serve collected files under content-hashed, compressed names (cached for a year). Needs
# `collectstatic` first, so it is off with DEBUG (runserver serves the apps' files directly) and
# in the test suite.
STATIC_FILES_MANIFEST = env.bool("STATIC_FILES_MANIFEST", default=not DEBUG)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if STATIC_FILES_MANIFEST
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}

# Security: production runs behind HTTPS (see docs/deploy.md).
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=not DEBUG)
TRUST_X_FORWARDED_PROTO = env.bool("TRUST_X_FORWARDED_PROTO", default=False)
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if TRUST_X_FORWARDED_PROTO else None
SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=not DEBUG)
CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=not DEBUG)
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=not DEBUG)
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=not DEBUG)
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [],
    "DEFAULT_PERMISSION_CLASSES": [],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["connect.parsers.SafeJSONParser"],
    "UNAUTHENTICATED_USER": None,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
}
# The OpenAPI document at /api/schema/: the actions Jira calls (docs/actions.md) and the REST
# API and alert webhooks (docs/api.md), tagged by caller.
SPECTACULAR_SETTINGS = {
    "TITLE": "Ops Portal API",
    "DESCRIPTION": "The jiraOperationsInfoProvider actions Jira calls, each authenticated by a "
    "Connect JWT; and the REST API and alert webhooks, each authenticated by an integration's "
    "bearer token.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "ENUM_NAME_OVERRIDES": {
        "IncidentStatusEnum": "incidents.models.incidents.Incident.Status",
        "IncidentSeverityEnum": "incidents.models.incidents.Incident.Severity",
    },
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "incidents.api.openapi.tag_by_caller",
    ],
}

# --- Admin login attempts (django-axes, docs/deploy.md) -------------------------------------
# Failed logins allowed for one username from one address before both are locked out together.
AXES_FAILURE_LIMIT = env.int("LOGIN_FAILURE_LIMIT", default=5)
# How long a lockout lasts; a success before the limit clears the count.
AXES_COOLOFF_TIME = timedelta(minutes=env.float("LOGIN_LOCKOUT_MINUTES", default=15.0))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
# Reverse proxies in front of the portal that append to X-Forwarded-For (portal/login_limits.py).
LOGIN_LIMIT_TRUSTED_PROXIES = env.int("LOGIN_LIMIT_TRUSTED_PROXIES", default=0)
AXES_CLIENT_IP_CALLABLE = "portal.login_limits.client_ip"

# --- Atlassian Connect ---------------------------------------------------------------
CONNECT_BASE_URL = env.str("CONNECT_BASE_URL", default="http://127.0.0.1:8000").rstrip("/")
CONNECT_APP_KEY = env.str("CONNECT_APP_KEY", default="io.github.jira-ops-portal")
CONNECT_APP_NAME = env.str("CONNECT_APP_NAME", default="Ops Portal")
CONNECT_APP_DESCRIPTION = env.str(
    "CONNECT_APP_DESCRIPTION",
    default="Incidents and post-incident reviews from your own operations portal.",
)
CONNECT_VENDOR_NAME = env.str("CONNECT_VENDOR_NAME", default="Ops Portal")
CONNECT_VENDOR_URL = env.str("CONNECT_VENDOR_URL", default=CONNECT_BASE_URL)
CONNECT_MODULE_KEY = env.str("CONNECT_MODULE_KEY", default="ops-portal-operations")
CONNECT_DOCUMENTATION_URL = env.str("CONNECT_DOCUMENTATION_URL", default="")
CONNECT_INSTALL_KEYS_URL = env.str(
    "CONNECT_INSTALL_KEYS_URL", default="https://connect-install-keys.atlassian.com"
).rstrip("/")
# Extra audiences accepted on signed installs (CONNECT_BASE_URL is always accepted).
CONNECT_ALLOWED_AUDIENCES = env.list("CONNECT_ALLOWED_AUDIENCES", default=[])
# Hosts a Jira site's baseUrl may have; jirasim's host is added for local use.
CONNECT_ALLOWED_SITE_HOSTS = env.list(
    "CONNECT_ALLOWED_SITE_HOSTS", default=["*.atlassian.net", "*.jira.com"]
)
CONNECT_JWT_LEEWAY_SECONDS = env.int("CONNECT_JWT_LEEWAY_SECONDS", default=30)
# Advertise the legacy createPostIncidentReview action (a link from Jira to /reviews/create);
# off by default because the current descriptor schema does not list it (docs/actions.md).
CONNECT_ADVERTISE_CREATE_REVIEW = env.bool("CONNECT_ADVERTISE_CREATE_REVIEW", default=False)
# Key for encrypting shared secrets at rest; derived from SECRET_KEY when unset.
FIELD_ENCRYPTION_KEY = env.str("FIELD_ENCRYPTION_KEY", default="")
# The Forge app id `forge register` gives (ari:cloud:ecosystem::app/<uuid>), for
# `manage.py forge_manifest` (docs/install.md); empty until the app is registered.
FORGE_APP_ID = env.str("FORGE_APP_ID", default="")

# --- Logging (portal/logs.py): `text` lines, or `json` objects for a log pipeline; tokens redacted.
LOG_FORMAT = env.str("LOG_FORMAT", default="text")
LOG_LEVEL = env.str("LOG_LEVEL", default="INFO")
LOGGING = logging_config(LOG_FORMAT, LOG_LEVEL)

# --- /healthz (portal/health.py) ------------------------------------------------------------
# "degraded" once the oldest due change has waited this long for a worker (none is relaying).
HEALTHZ_MAX_BACKLOG_AGE_SECONDS = env.float("HEALTHZ_MAX_BACKLOG_AGE_SECONDS", default=300.0)

# --- Sync to Jira (see docs/sync.md) ----------------------------------------------------------
# Seconds a worker holds claimed rows; a killed worker's rows are retaken after this.
SYNC_LEASE_SECONDS = env.float("SYNC_LEASE_SECONDS", default=120.0)
# Entities per request (Jira accepts at most 1000).
SYNC_BATCH_SIZE = min(env.int("SYNC_BATCH_SIZE", default=1000), 1000)
SYNC_BACKOFF_BASE_SECONDS = env.float("SYNC_BACKOFF_BASE_SECONDS", default=2.0)
SYNC_BACKOFF_CAP_SECONDS = env.float("SYNC_BACKOFF_CAP_SECONDS", default=600.0)
# In-line retries of one request before the rows go back to the outbox with a backoff.
SYNC_CLIENT_ATTEMPTS = env.int("SYNC_CLIENT_ATTEMPTS", default=2)
SYNC_CLIENT_MAX_RETRY_WAIT_SECONDS = env.float("SYNC_CLIENT_MAX_RETRY_WAIT_SECONDS", default=5.0)
# Seconds after a delete (or an unlink) to check once that no late submit brought it back.
SYNC_VERIFY_DELETE_SECONDS = env.float("SYNC_VERIFY_DELETE_SECONDS", default=120.0)
# How often an idle worker looks for new changes.
SYNC_POLL_SECONDS = env.float("SYNC_POLL_SECONDS", default=1.0)
