"""What a SyncEvent keeps of a request and its answer: everything but tokens and secrets."""

from __future__ import annotations

import dataclasses
import datetime
import decimal
import functools
import re

SECRET_KEYS = re.compile(
    r"(authori[sz]ation|token|secret|password|passwd|api[_-]?key|client[_-]?secret|cookie|signature|code_verifier)",
    re.IGNORECASE,
)
BEARER = re.compile(r"\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]+", re.IGNORECASE)
REDACTED = "[redacted]"
MAX_TEXT = 4000


@functools.lru_cache(maxsize=4096)
def _secret_key(key):
    return SECRET_KEYS.search(key) is not None


def _text(value):
    value = BEARER.sub(r"\1 " + REDACTED, value)
    return value if len(value) <= MAX_TEXT else value[:MAX_TEXT] + "…"


def redact(value, _depth=0):
    """A JSON-safe copy of `value` with secret-looking keys and bearer credentials replaced. Every
    recorded request and answer passes here, so the common types are tested first."""
    if _depth > 12:
        return "…"
    if isinstance(value, str):
        return _text(value)
    if value is None or isinstance(value, bool | int | float):
        return value
    if isinstance(value, dict):
        copy = {}
        for key, item in value.items():
            key = key if isinstance(key, str) else str(key)
            copy[key] = REDACTED if _secret_key(key) else redact(item, _depth + 1)
        return copy
    if isinstance(value, list | tuple | set):
        return [redact(item, _depth + 1) for item in value]
    if isinstance(value, decimal.Decimal):
        return str(value)
    if isinstance(value, datetime.date):  # datetimes too
        return value.isoformat()
    if isinstance(value, bytes):
        return _text(value.decode("utf-8", "replace"))
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return redact(dataclasses.asdict(value), _depth)
    return redact(str(value), _depth + 1)
