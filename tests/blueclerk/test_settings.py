"""The project's settings logic, run afresh with a chosen environment (not the test settings)."""

import runpy
import sqlite3
from pathlib import Path

import environ
import pytest
from django.db import connections, transaction
from django.db.utils import ConnectionHandler

ALIAS = "settings_under_test"
SETTINGS_FILE = Path(__file__).resolve().parents[2] / "blueclerk" / "settings.py"


def _settings(monkeypatch, **environment):
    """Evaluate blueclerk/settings.py with exactly `environment` (no .env file, no inherited variables)."""
    for name in ("DATABASE_URL", "SQLITE_PATH", "REDIS_URL", "DEBUG", "PROVIDER_SANDBOX", "TEST_DATABASE_NAME"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("SECRET_KEY", "settings-test")
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setattr(environ.Env, "read_env", classmethod(lambda cls, *args, **kwargs: None))
    return runpy.run_path(str(SETTINGS_FILE))


@pytest.fixture
def sqlite_connection(monkeypatch, tmp_path, django_db_blocker):
    """A Django connection to a fresh SQLite file configured by the project's settings."""
    path = tmp_path / "blueclerk.sqlite3"
    settings = _settings(monkeypatch, SQLITE_PATH=str(path))
    database = settings["DATABASES"]["default"]
    conn = ConnectionHandler({"default": database, ALIAS: database})[ALIAS]
    # Registered beside the test database's connection so transaction.atomic(using=ALIAS) drives it.
    connections[ALIAS] = conn
    try:
        with django_db_blocker.unblock():
            conn.ensure_connection()
            yield path, conn
            conn.close()
    finally:
        del connections[ALIAS]


def test_the_default_database_is_a_sqlite_file_in_wal_mode_with_a_busy_timeout(sqlite_connection):
    path, conn = sqlite_connection
    assert conn.vendor == "sqlite"
    assert Path(conn.settings_dict["NAME"]) == path
    with conn.cursor() as cursor:
        cursor.execute("PRAGMA journal_mode")
        assert cursor.fetchone()[0] == "wal"
        cursor.execute("PRAGMA busy_timeout")
        assert cursor.fetchone()[0] == 30000
        cursor.execute("PRAGMA foreign_keys")
        assert cursor.fetchone()[0] == 1


def test_the_default_database_takes_the_write_lock_when_a_transaction_begins(sqlite_connection):
    """IMMEDIATE: a second writer waits at BEGIN instead of failing half way with 'database is locked'."""
    path, conn = sqlite_connection
    assert conn.settings_dict["OPTIONS"]["transaction_mode"] == "IMMEDIATE"
    with conn.cursor() as cursor:
        cursor.execute("CREATE TABLE t (x integer)")
    other = sqlite3.connect(path, timeout=0)
    try:
        with transaction.atomic(using=ALIAS):
            # This transaction has only read so far, yet it already holds the write lock.
            with conn.cursor() as cursor:
                cursor.execute("SELECT count(*) FROM t")
            with pytest.raises(sqlite3.OperationalError, match="database is locked"):
                other.execute("INSERT INTO t VALUES (1)")
        other.execute("INSERT INTO t VALUES (2)")  # free again once it committed
        other.commit()
    finally:
        other.close()


def test_database_url_switches_to_postgresql(monkeypatch):
    settings = _settings(monkeypatch, DATABASE_URL="postgres://app:pw@db.internal:5432/blueclerk")
    db = settings["DATABASES"]["default"]
    assert (db["ENGINE"], db["HOST"], db["NAME"]) == ("django.db.backends.postgresql", "db.internal", "blueclerk")
    assert "transaction_mode" not in db.get("OPTIONS", {})


def test_debug_is_off_unless_set(monkeypatch):
    assert _settings(monkeypatch)["DEBUG"] is False
    assert _settings(monkeypatch, DEBUG="true")["DEBUG"] is True


def test_tasks_use_the_database_broker_unless_redis_is_set_and_retry_outlasts_the_timeout(monkeypatch):
    q = _settings(monkeypatch)["Q_CLUSTER"]
    assert q["orm"] == "default" and "redis" not in q
    assert q["retry"] > q["timeout"]
    q = _settings(monkeypatch, REDIS_URL="redis://127.0.0.1:6379/0")["Q_CLUSTER"]
    assert q["redis"] == "redis://127.0.0.1:6379/0" and "orm" not in q
    assert q["retry"] > q["timeout"]
