"""Settings for the test suite: the project's settings on PostgreSQL (TEST_DATABASE_URL), sandbox on.

PostgreSQL is required for the concurrency tests. When it cannot be reached, the run fails at once
if CI is set; on a developer machine without it the suite falls back to SQLite and the tests marked
`postgres` are skipped with a loud reason (see tests/conftest.py).
"""

import os

import psycopg

TEST_DATABASE_URL = os.environ.get("TEST_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres")


def _postgres_reachable(url):
    try:
        psycopg.connect(url, connect_timeout=3).close()
    except psycopg.Error as exc:
        return str(exc).strip()
    return None


POSTGRES_ERROR = _postgres_reachable(TEST_DATABASE_URL)
if POSTGRES_ERROR and os.environ.get("CI"):
    raise SystemExit(f"PostgreSQL is not reachable at {TEST_DATABASE_URL} and CI is set: {POSTGRES_ERROR}")

os.environ["DATABASE_URL"] = "sqlite:///:memory:" if POSTGRES_ERROR else TEST_DATABASE_URL
os.environ.setdefault("SECRET_KEY", "tests-only-not-secret")
os.environ["PROVIDER_SANDBOX"] = "true"
os.environ.setdefault("INTEGRATIONS_TOKEN_KEYS", "ayD4WUkYflEOrzAsujB-xdiWNmbr3VaXSYL7cX1jbQI=")
os.environ.setdefault("SITE_URL", "http://testserver")
os.environ.setdefault("REDIS_URL", "")

from blueclerk.settings import *  # noqa: E402, F403

POSTGRES = not POSTGRES_ERROR
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
