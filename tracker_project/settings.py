"""Settings, read from the environment (django-environ) with defaults that run offline.

Every knob has a default so that a fresh clone runs with no environment set; `manage.py
check --deploy` names what a public deployment must set.
"""

from datetime import timedelta
from pathlib import Path

import environ

from alerts.config import stale_after_s
from feed.config import DEFAULTS as FEED_DEFAULTS

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env")  # optional; a missing file is fine

# Core
DEBUG = env.bool("DJANGO_DEBUG", default=False)
SECRET_KEY = env.str(
    "DJANGO_SECRET_KEY", default="django-insecure-local-only-set-DJANGO_SECRET_KEY"
)
ALLOWED_HOSTS = env.list(
    "DJANGO_ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"]
)
ROOT_URLCONF = "tracker_project.urls"
ASGI_APPLICATION = "tracker_project.asgi.application"
WSGI_APPLICATION = "tracker_project.wsgi.application"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
USE_TZ = True
TIME_ZONE = "UTC"
LANGUAGE_CODE = "en-us"
USE_I18N = False

# Applications. The feed processes (`run_feed`, `refresh_symbols`) set
# TRACKER_FEED_ONLY=1 through manage.py and load only what they need: every other
# app's import costs resident memory for no use there.
# The Celery worker (`celery -A tracker_project.worker`, tracker_project/worker.py)
# sets TRACKER_CELERY_WORKER=1 and loads the apps whose tasks and models it runs:
# an app that adds tasks adds itself to WORKER_APPS.
FEED_ONLY = env.bool("TRACKER_FEED_ONLY", default=False)
CELERY_WORKER = env.bool("TRACKER_CELERY_WORKER", default=False)
FEED_APPS = ["options", "feed"]
WORKER_APPS = ["django_celery_beat", *FEED_APPS, "alerts"]
if FEED_ONLY:
    INSTALLED_APPS = FEED_APPS
elif CELERY_WORKER:
    INSTALLED_APPS = WORKER_APPS
else:
    # No "daphne" app: it imports daphne's server (Twisted, 15 MB) into every
    # process; the web runs under uvicorn (docker-compose.yml) or the daphne command.
    INSTALLED_APPS = [
        "django.contrib.admin",
        "django.contrib.auth",
        "django.contrib.contenttypes",
        "django.contrib.sessions",
        "django.contrib.messages",
        "django.contrib.staticfiles",
        "axes",
        "channels",
        "rest_framework",
        "rest_framework.authtoken",
        "django_filters",
        "drf_spectacular",
        "drf_spectacular_sidecar",
        "django_celery_beat",
        *FEED_APPS,
        "dashboard",
        "api",
        "alerts",
    ]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "api.limits.QueryLimitMiddleware",
    "api.headers.ContentSecurityPolicy",
    "servestatic.middleware.ServeStaticMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "axes.middleware.AxesMiddleware",
]

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
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

# Database: SQLite next to the project unless DATABASE_URL says otherwise.
DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}")
}

# Static files, served by ServeStatic (WhiteNoise's async-capable successor: a
# sync-only middleware would cost every async view a thread hop).
STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"

# Redis: the store, the channel layer and the Celery broker.
REDIS_URL = env.str("REDIS_URL", default=FEED_DEFAULTS["REDIS_URL"])

# Channels: the pub/sub layer is built for broadcast (one chain, many browsers). The
# feed publishes to it without importing channels: see options/live.py.
CHANNEL_LAYERS = {
    "default": {
        "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
        "CONFIG": {"hosts": [REDIS_URL], "prefix": "asgi", "serializer_format": "json"},
    }
}
# Dashboard pages and sockets for logged-in users only (public deployments).
DASHBOARD_LOGIN_REQUIRED = env.bool("DASHBOARD_LOGIN_REQUIRED", default=False)
LOGIN_URL = "/admin/login/"

# REST API
API_TOKEN_REQUIRED = env.bool("API_TOKEN_REQUIRED", default=False)
API_THROTTLE_ANON = env.str("API_THROTTLE_ANON", default="")  # e.g. "120/min"; off
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    # Both read API_TOKEN_REQUIRED / API_THROTTLE_ANON at request time (api/access.py).
    "DEFAULT_PERMISSION_CLASSES": ["api.access.ApiAccess"],
    "DEFAULT_THROTTLE_CLASSES": ["api.access.AnonThrottle"],
    "DEFAULT_SCHEMA_CLASS": "api.schema.ApiAutoSchema",
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "EXCEPTION_HANDLER": "api.errors.exception_handler",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "optiontracker API",
    "DESCRIPTION": "Live crypto option chains, tickers and feed status, from Redis.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,  # PATCH bodies show only the writable fields
}

# Celery
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default=REDIS_URL)
CELERY_TIMEZONE = "UTC"
CELERY_ENABLE_UTC = True
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_TASK_IGNORE_RESULT = True

# History: sampled every HISTORY_INTERVAL seconds, kept HISTORY_RETENTION seconds,
# while HISTORY_ENABLED (the full deployment turns it on).
HISTORY_ENABLED = env.bool("HISTORY_ENABLED", default=False)
HISTORY_INTERVAL = env.int("HISTORY_INTERVAL", default=60)
HISTORY_RETENTION = env.int("HISTORY_RETENTION", default=86400)
# The analytics' samples (options/tasks.py); beat's DatabaseScheduler copies this
# into its table when it starts, so HISTORY_INTERVAL applies at the next start.
CELERY_BEAT_SCHEDULE = {
    "sample analytics": {
        "task": "options.tasks.sample_analytics",
        "schedule": float(HISTORY_INTERVAL),
        "options": {"expires": HISTORY_INTERVAL},
    }
} if HISTORY_ENABLED else {}  # fmt: skip

# Symbol refresh: the Celery tasks (feed/tasks.py) and the admin (options/admin.py);
# see docs/operations.md.
# The admin checks a new base coin through this callable: `options` cannot import
# `feed`. It takes (base_coin, exchange) and returns True/False.
TRACKER_BASE_COIN_CHECK = env.str(
    "TRACKER_BASE_COIN_CHECK", default="feed.refresh.base_coin_exists"
)
# A failed refresh is retried after ~backoff, 2x, 4x ... seconds (full jitter).
TRACKER_REFRESH_MAX_RETRIES = env.int("TRACKER_REFRESH_MAX_RETRIES", default=3)
TRACKER_REFRESH_RETRY_BACKOFF = env.int("TRACKER_REFRESH_RETRY_BACKOFF", default=20)
# The refresh lock outlives a stuck refresh by this much at most (a 403 ban alone
# can hold a refresh for 10 minutes); the task's hard time limit stays below it.
TRACKER_REFRESH_LOCK_SECONDS = env.int(
    "TRACKER_REFRESH_LOCK_SECONDS",
    default=int(FEED_DEFAULTS["TRACKER_REFRESH_LOCK_SECONDS"]),
)
# The admin calls a contract's tick fresh when the feed wrote it this recently.
TRACKER_TICK_FRESH_SECONDS = env.int("TRACKER_TICK_FRESH_SECONDS", default=60)
# Symbol refresh end

# History (options/history.py, docs/history.md): every chain sampled each
# HISTORY_INTERVAL seconds by the Celery task feed.tasks.sample_history, kept for
# HISTORY_RETENTION seconds. Off unless enabled (the full deployment enables it).
HISTORY_ENABLED = env.bool("HISTORY_ENABLED", default=False)
HISTORY_INTERVAL = env.int("HISTORY_INTERVAL", default=60)
HISTORY_RETENTION = env.int("HISTORY_RETENTION", default=86400)
# History end

# Exchanges
# The Django-free feed core (`python -m feed`) reads the same names: feed/config.py.
BYBIT_REST_URL = env.str("BYBIT_REST_URL", default=FEED_DEFAULTS["BYBIT_REST_URL"])
BYBIT_WS_URL = env.str("BYBIT_WS_URL", default=FEED_DEFAULTS["BYBIT_WS_URL"])
TRACKER_UNDERLYINGS = env.list(
    "TRACKER_UNDERLYINGS", default=FEED_DEFAULTS["TRACKER_UNDERLYINGS"].split(",")
)
TRACKER_FIELDS = env.str("TRACKER_FIELDS", default=FEED_DEFAULTS["TRACKER_FIELDS"])

# Alerts and health checks (docs/alerts.md). The feed reads the same variables
# through alerts.config, without Django.
ALERT_STALE_AFTER = stale_after_s()  # seconds without an exchange message: stale
# The feeds /readyz and `manage.py feed_health` require.
HEALTH_EXCHANGES = env.list("HEALTH_EXCHANGES", default=["bybit"])

# Security for public deployments (check --deploy names these when unset); see
# docs/operations.md, "Security".
SECURE_CONTENT_TYPE_NOSNIFF = True
# Behind a TLS-terminating proxy that sets X-Forwarded-Proto: HSTS, the redirect to
# https and secure cookies, all at once.
HTTPS = env.bool("DJANGO_HTTPS", default=False)
CSRF_COOKIE_SECURE = HTTPS or env.bool("DJANGO_SECURE_COOKIES", default=False)
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE
if HTTPS:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = True
    SECURE_HSTS_SECONDS = env.int("DJANGO_HSTS_SECONDS", default=31_536_000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("DJANGO_HSTS_SUBDOMAINS", default=True)
    SECURE_HSTS_PRELOAD = env.bool("DJANGO_HSTS_PRELOAD", default=True)
# Origins (scheme://host[:port]) other than the site's own that may post forms and
# open WebSockets, e.g. https://tracker.example.com behind a proxy that rewrites Host.
TRUSTED_ORIGINS = env.list("DJANGO_TRUSTED_ORIGINS", default=[])
CSRF_TRUSTED_ORIGINS = TRUSTED_ORIGINS
# Every page loads only from its own origin (api/headers.py).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "connect-src": ["'self'"],  # CSP 3: also ws:/wss: to the same host
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
}

# Admin login: django-axes locks a username, or a client address, out after
# AXES_FAILURE_LIMIT failures within the cool-off (docs/operations.md).
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=10)
AXES_COOLOFF_TIME = timedelta(minutes=env.float("AXES_COOLOFF_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]  # either one locks
AXES_RESET_ON_SUCCESS = True
AXES_SENSITIVE_PARAMETERS = []  # the log names who was locked out, and from where

# Live-update sockets: at most this many per client address, and in all (per web
# process); refused with close codes 4429 / 4430 (docs/operations.md).
WS_MAX_PER_CLIENT = env.int("WS_MAX_PER_CLIENT", default=20)
WS_MAX_TOTAL = env.int("WS_MAX_TOTAL", default=2000)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {
        "httpx": {"level": "WARNING"},
        "httpcore": {"level": "WARNING"},
        # Its start-up line, on every manage.py command; lockouts are warnings.
        "axes.apps": {"level": "WARNING"},
    },
}
