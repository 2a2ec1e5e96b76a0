"""Settings for the error tracker, read from the environment (12-factor).

Every setting a deployment changes comes from an environment variable; the defaults
are for a developer's machine (DEBUG on, SQLite in ./data). Production sets
DEBUG=0, SECRET_KEY, ALLOWED_HOSTS and DATABASE_URL; see README "Configuration".
"""

import os
from datetime import timedelta
from pathlib import Path

import dj_database_url
from django.utils.csp import CSP

BASE_DIR = Path(__file__).resolve().parent.parent
DATA_DIR = Path(os.environ.get("DATA_DIR", BASE_DIR / "data"))


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


DEBUG = env_bool("DEBUG", True)

# Only a development default: production refuses to start without a real key.
_DEV_SECRET_KEY = "dev-insecure-key-change-me-0123456789-abcdefghijklmnopqrstuvwxyz"
SECRET_KEY = os.environ.get("SECRET_KEY") or (_DEV_SECRET_KEY if DEBUG else "")
if not SECRET_KEY:
    from django.core.exceptions import ImproperlyConfigured

    raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off.")

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]" if DEBUG else "")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_filters",
    "django_htmx",
    "axes",
    "django_tasks_db",
    "tracking",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "tracking.middleware.HtmxLoginRequiredMiddleware",
    "tracking.middleware.TimezoneMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "tracking.middleware.HtmxMessagesMiddleware",
    # Last, as django-axes asks: turns a sign-in lockout into its response (429).
    "axes.middleware.AxesMiddleware",
]

# django-axes first: it refuses a locked-out sign-in before any password is checked.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]

ROOT_URLCONF = "errortracker.urls"
WSGI_APPLICATION = "errortracker.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.csp",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# Database: DATABASE_URL wins; without it a SQLite file, so a newcomer needs no server.
# Persistent connections keep the hot paths (ingestion, inbox) from reconnecting per request.
_default_db_url = f"sqlite:///{DATA_DIR / 'errortracker.sqlite3'}"
DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL", _default_db_url),
        conn_max_age=int(os.environ.get("CONN_MAX_AGE", "600")),
        conn_health_checks=True,
    )
}
# PostgreSQL settings of the application's own sessions. Every query here reads an index
# range bounded by a page or a LIMIT: parallel workers (started anew for each query) and
# JIT compilation cost more than they save at that size, and on a shared machine the
# workers take the cores that the other requests are waiting for.
POSTGRES_OPTIONS = os.environ.get(
    "POSTGRES_OPTIONS", "-c max_parallel_workers_per_gather=0 -c jit=off"
).strip()
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql" and POSTGRES_OPTIONS:
    _options = DATABASES["default"].setdefault("OPTIONS", {})
    _options["options"] = f"{_options.get('options', '')} {POSTGRES_OPTIONS}".strip()
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {"timeout": 20, "transaction_mode": "IMMEDIATE", "init_command": "PRAGMA journal_mode=WAL;"}
    )

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "tracking.User"
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "inbox"
LOGOUT_REDIRECT_URL = "login"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = os.environ.get("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = Path(os.environ.get("STATIC_ROOT", BASE_DIR / "staticfiles"))
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}

# Content Security Policy: scripts only from us, each inline <script> needs the nonce.
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF, CSP.NONCE],
    "style-src": [CSP.SELF],
    "img-src": [CSP.SELF, "data:"],
    "connect-src": [CSP.SELF],
    "font-src": [CSP.SELF],
    "object-src": [CSP.NONE],
    "base-uri": [CSP.SELF],
    "form-action": [CSP.SELF],
    "frame-ancestors": [CSP.NONE],
}

# Security headers and cookies. Behind a TLS-terminating proxy set SECURE_PROXY_SSL_HEADER.
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
if not DEBUG:
    SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", True)
    CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", True)
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    SECURE_HSTS_SECONDS = int(os.environ.get("SECURE_HSTS_SECONDS", "31536000"))
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", True)
    SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", True)
    # Ingestion must answer plain-HTTP SDKs on internal networks too; see README.
    SECURE_REDIRECT_EXEMPT = [r"^api/", r"^health/$"]
if os.environ.get("SECURE_PROXY_SSL_HEADER"):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# Email (Django 6.1 MAILERS). Development prints emails to the console; production
# (DEBUG off) sends through SMTP at EMAIL_HOST (default localhost:25). EMAIL_BACKEND
# =console|smtp overrides either.
_email_backend = os.environ.get("EMAIL_BACKEND") or (
    "smtp" if os.environ.get("EMAIL_HOST") or not DEBUG else "console"
)
if _email_backend == "smtp":
    MAILERS = {
        "default": {
            "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "OPTIONS": {
                "host": os.environ.get("EMAIL_HOST", "localhost"),
                "port": int(
                    os.environ.get(
                        "EMAIL_PORT", "25" if not os.environ.get("EMAIL_HOST") else "587"
                    )
                ),
                "username": os.environ.get("EMAIL_HOST_USER", ""),
                "password": os.environ.get("EMAIL_HOST_PASSWORD", ""),
                "use_tls": env_bool("EMAIL_USE_TLS", bool(os.environ.get("EMAIL_HOST"))),
                "timeout": 10,
            },
        }
    }
else:
    MAILERS = {"default": {"BACKEND": "django.core.mail.backends.console.EmailBackend"}}
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "errortracker@localhost")

# Background tasks (django.tasks with django-tasks-db): every email is a task in the
# database, run by `manage.py worker` (README "The worker"). Tasks wait in the table
# while no worker runs.
TASKS = {
    "default": {
        "BACKEND": "django_tasks_db.DatabaseBackend",
        "QUEUES": ["default"],
    }
}
# Sending an email is retried this many times, waiting EMAIL_RETRY_BACKOFF_SECONDS,
# then twice that, and so on (the Tasks framework has no retries of its own).
EMAIL_RETRY_ATTEMPTS = int(os.environ.get("EMAIL_RETRY_ATTEMPTS", "5"))
EMAIL_RETRY_BACKOFF_SECONDS = int(os.environ.get("EMAIL_RETRY_BACKOFF_SECONDS", "30"))
# A task still "running" after this long belongs to a worker that died: it is put back.
# Far above the SMTP timeout (10 s), so a live worker's task is never taken from it.
TASK_STALE_AFTER_SECONDS = int(os.environ.get("TASK_STALE_AFTER_SECONDS", "900"))
# How often the maintenance task runs (stale tasks back, old results pruned).
TASK_MAINTENANCE_INTERVAL_SECONDS = int(os.environ.get("TASK_MAINTENANCE_INTERVAL_SECONDS", "300"))
# Finished task results are deleted after this many days.
TASK_RESULT_RETENTION_DAYS = int(os.environ.get("TASK_RESULT_RETENTION_DAYS", "7"))
# The daily digest of My work (for people who chose it) goes out at this hour, UTC.
DIGEST_HOUR_UTC = int(os.environ.get("DIGEST_HOUR_UTC", "7"))
# Assignees are reminded this many hours before a due date.
DUE_REMINDER_HOURS = int(os.environ.get("DUE_REMINDER_HOURS", "24"))
# /health/ says "degraded" when the oldest ready task has waited longer than this.
TASK_QUEUE_MAX_AGE_SECONDS = int(os.environ.get("TASK_QUEUE_MAX_AGE_SECONDS", "300"))

# Alerts (tracking.alerts): a delivery is tried this many times in all, waiting
# ALERT_RETRY_BACKOFF_SECONDS, then twice that, and so on; a channel whose deliveries
# were given up this many times in a row is flagged "failing".
ALERT_DELIVERY_ATTEMPTS = int(os.environ.get("ALERT_DELIVERY_ATTEMPTS", "5"))
ALERT_RETRY_BACKOFF_SECONDS = int(os.environ.get("ALERT_RETRY_BACKOFF_SECONDS", "30"))
ALERT_CHANNEL_FAILING_AFTER = int(os.environ.get("ALERT_CHANNEL_FAILING_AFTER", "3"))
# Outbound webhooks: short timeouts, so a slow receiver holds a worker for seconds only.
ALERT_CONNECT_TIMEOUT_SECONDS = float(os.environ.get("ALERT_CONNECT_TIMEOUT_SECONDS", "3"))
ALERT_READ_TIMEOUT_SECONDS = float(os.environ.get("ALERT_READ_TIMEOUT_SECONDS", "5"))
# The whole attempt (connect, send, answer), however slowly a receiver drips its reply.
ALERT_ATTEMPT_DEADLINE_SECONDS = float(os.environ.get("ALERT_ATTEMPT_DEADLINE_SECONDS", "10"))
# A 429's Retry-After is honoured for the next attempt, up to this long.
ALERT_RETRY_AFTER_MAX_SECONDS = int(os.environ.get("ALERT_RETRY_AFTER_MAX_SECONDS", "3600"))
# Alerts, their deliveries and attempts older than this are purged by the maintenance task.
ALERT_RETENTION_DAYS = int(os.environ.get("ALERT_RETENTION_DAYS", "90"))
# Off: webhooks to loopback and private addresses are refused (no reaching the
# tracker's own network through a channel URL). Link-local and cloud metadata
# addresses are refused even when this is on.
ALERTS_ALLOW_PRIVATE_NETWORKS = env_bool("ALERTS_ALLOW_PRIVATE_NETWORKS", False)

# Absolute links in emails and DSNs are built from this when there is no request.
SITE_URL = os.environ.get("SITE_URL", "http://127.0.0.1:8000").rstrip("/")

# Where the "Create a GitHub issue" links go: github.com, or a GitHub Enterprise Server
# (https://github.example.com), for every project (tracking/issue_links.py).
GITHUB_URL = os.environ.get("GITHUB_URL", "https://github.com").rstrip("/")

LOG_FORMAT = os.environ.get("LOG_FORMAT", "text" if DEBUG else "json")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "json": {"()": "errortracker.logging.JsonFormatter"},
        "text": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"},
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": LOG_FORMAT}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        # axes says every step at INFO; its warnings (failures, lockouts) are what matter.
        "axes": {"level": "WARNING"},
    },
}

# No CACHES: nothing uses Django's cache. Counters that must not lose counts live in
# tables of their own (sign-in attempts in axes' with its database handler, ingestion
# in ingest_rate_window) and sessions in the database. Migration 0003 made a cache table
# for an earlier database cache; it stays, and with no database cache it adds nothing.

# Sign-in throttling (django-axes, tracking.auth): failed sign-ins counted in the
# database per username and client address; see README "Sign-in throttling".
LOGIN_LOCKOUT_MINUTES = int(os.environ.get("LOGIN_LOCKOUT_MINUTES", "15"))
# Failures of one account from one address (IPv6: one /64) that lock that pair.
AXES_FAILURE_LIMIT = int(os.environ.get("LOGIN_FAILURE_LIMIT", "5"))
# Failures of one account from all addresses together that lock the account itself.
LOGIN_ACCOUNT_FAILURE_LIMIT = int(os.environ.get("LOGIN_ACCOUNT_FAILURE_LIMIT", "50"))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"], "username"]
AXES_HANDLER = "tracking.auth.SignInHandler"
AXES_CLIENT_IP_CALLABLE = "tracking.auth.sign_in_address"
AXES_LOCKOUT_CALLABLE = "tracking.auth.lockout_response"
AXES_COOLOFF_TIME = timedelta(minutes=LOGIN_LOCKOUT_MINUTES)
# A lock lasts LOGIN_LOCKOUT_MINUTES from the failure that set it: attempts while locked
# are refused without being counted, so they do not extend it.
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
AXES_RESET_ON_SUCCESS = True
# Successful sign-ins are in the session table and the user's last_login already.
AXES_DISABLE_ACCESS_LOG = True
AXES_VERBOSE = False
SESSION_COOKIE_AGE = int(os.environ.get("SESSION_COOKIE_AGE", str(60 * 60 * 12)))

# Trusted proxies may set X-Forwarded-For (for ingestion and sign-in throttling alike);
# everyone else's header is ignored.
INGEST_TRUSTED_PROXIES = env_list("INGEST_TRUSTED_PROXIES")
# Stop storing client IP addresses (privacy).
STORE_IP_ADDRESSES = env_bool("STORE_IP_ADDRESSES", True)
