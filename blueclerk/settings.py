"""Settings, all from the environment (django-environ). See README "Configuration" and .env.example."""

from pathlib import Path

import environ

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

DEBUG = env.bool("DEBUG", default=False)
SECRET_KEY = env.str("SECRET_KEY")
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]", "testserver"])
SITE_URL = env.str("SITE_URL", default="http://127.0.0.1:8000").rstrip("/")
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[SITE_URL])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_q",
    "django_htmx",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "blueclerk",
    "catalog",
    "invoices",
    "integrations",
]

PROVIDER_SANDBOX = env.bool("PROVIDER_SANDBOX", default=False)
if PROVIDER_SANDBOX:
    INSTALLED_APPS.append("integrations.sandbox")

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "blueclerk.middleware.OrganizationMiddleware",
    "integrations.middleware.ReconnectRequiredMiddleware",
]

ROOT_URLCONF = "blueclerk.urls"
WSGI_APPLICATION = "blueclerk.wsgi.application"

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
                "blueclerk.context_processors.organization",
                "integrations.health.banners",
                "integrations.views_notifications.notification_context",
            ],
        },
    },
]

# Database: a SQLite file by default, tuned so the web server and the task worker can write at once
# (WAL lets readers run beside the writer, IMMEDIATE takes the write lock at BEGIN so two writers queue
# on the busy timeout instead of failing half way with "database is locked"). DATABASE_URL switches to
# PostgreSQL, which several workers need.
SQLITE_PATH = env.str("SQLITE_PATH", default=str(BASE_DIR / "db" / "blueclerk.sqlite3"))
DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{SQLITE_PATH}")}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "timeout": 30,
            "transaction_mode": "IMMEDIATE",
            "init_command": (
                "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=30000; PRAGMA foreign_keys=ON;"
            ),
        }
    )
    DATABASES["default"]["TEST"] = {"NAME": env.str("SQLITE_TEST_PATH", default="") or None}
else:
    DATABASES["default"].setdefault("CONN_MAX_AGE", 60)
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
    test_name = env.str("TEST_DATABASE_NAME", default="")
    if test_name:
        DATABASES["default"]["TEST"] = {"NAME": test_name}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = env.str("TIME_ZONE", default="UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

EMAIL_BACKEND = env.str("EMAIL_BACKEND", default="django.core.mail.backends.console.EmailBackend")
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="BlueClerk <no-reply@localhost>")

SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SECURE = env.bool("SECURE_COOKIES", default=SITE_URL.startswith("https://"))
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE

REDIS_URL = env.str("REDIS_URL", default="")

# Tasks: every long job stops starting work at SYNC_TIME_BUDGET_SECONDS and continues in a new task,
# so it always ends before `timeout`; `retry` is longer than `timeout`, so the broker never hands a
# task that is still running to a second worker.
SYNC_TIME_BUDGET_SECONDS = env.int("SYNC_TIME_BUDGET_SECONDS", default=270)
TASK_TIMEOUT_SECONDS = env.int("TASK_TIMEOUT_SECONDS", default=SYNC_TIME_BUDGET_SECONDS + 30)
Q_CLUSTER = {
    "name": "blueclerk",
    "workers": env.int("Q_WORKERS", default=2),
    "timeout": TASK_TIMEOUT_SECONDS,
    "retry": TASK_TIMEOUT_SECONDS + 60,
    "max_attempts": 3,
    "catch_up": False,
    "ack_failures": True,
    "save_limit": 500,
    "label": "Tasks",
}
if REDIS_URL:
    Q_CLUSTER["redis"] = REDIS_URL
else:
    Q_CLUSTER["orm"] = "default"
Q_CLUSTER["sync"] = env.bool("Q_SYNC", default=False)

CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
if REDIS_URL:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.SessionAuthentication",
        "rest_framework.authentication.TokenAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    "EXCEPTION_HANDLER": "integrations.api_errors.exception_handler",
}
SPECTACULAR_SETTINGS = {"TITLE": "BlueClerk API", "VERSION": "1.0.0", "SERVE_INCLUDE_SCHEMA": False}

# Integrations. Tokens are encrypted with the first key; every key decrypts (rotation).
INTEGRATIONS_TOKEN_KEYS = env.list("INTEGRATIONS_TOKEN_KEYS", default=[])

# Provider endpoints. Empty means: the real production URL, or the built-in sandbox under SITE_URL
# when PROVIDER_SANDBOX is on (resolved at call time by integrations.providers.config).
PROVIDER_SETTINGS = {}
for _p in ("QUICKBOOKS", "XERO", "FRESHBOOKS", "WAVE"):
    PROVIDER_SETTINGS[_p.lower()] = {
        "client_id": env.str(f"{_p}_CLIENT_ID", default="sandbox-client" if PROVIDER_SANDBOX else ""),
        "client_secret": env.str(f"{_p}_CLIENT_SECRET", default="sandbox-secret" if PROVIDER_SANDBOX else ""),
        "auth_url": env.str(f"{_p}_AUTH_URL", default=""),
        "token_url": env.str(f"{_p}_TOKEN_URL", default=""),
        "api_url": env.str(f"{_p}_API_URL", default=""),
        "scopes": env.list(f"{_p}_SCOPES", default=[]),
        "webhook_secret": env.str(f"{_p}_WEBHOOK_SECRET", default="sandbox-webhook-key" if PROVIDER_SANDBOX else ""),
    }
# FreshBooks instant updates: register webhook callbacks at SITE_URL/webhooks/freshbooks/ when a
# FreshBooks connection is made (integrations.services.freshbooks_webhooks). false: the pull alone.
FRESHBOOKS_WEBHOOKS = env.bool("FRESHBOOKS_WEBHOOKS", default=True)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {"django.db.backends": {"level": "INFO"}},
}
