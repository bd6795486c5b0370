"""What a SyncEvent keeps of a request and its answer: everything but tokens and secrets."""

from __future__ import annotations

import dataclasses
import datetime
import decimal
import re

SECRET_KEYS = re.compile(
    r"(authori[sz]ation|token|secret|password|passwd|api[_-]?key|client[_-]?secret|cookie|signature|code_verifier)",
    re.IGNORECASE,
)
BEARER = re.compile(r"\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]+", re.IGNORECASE)
REDACTED = "[redacted]"
MAX_TEXT = 4000


def redact(value, _depth=0):
    """A JSON-safe copy of `value` with secret-looking keys and bearer credentials replaced."""
    if _depth > 12:
        return "…"
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        value = dataclasses.asdict(value)
    if isinstance(value, dict):
        return {str(k): (REDACTED if SECRET_KEYS.search(str(k)) else redact(v, _depth + 1)) for k, v in value.items()}
    if isinstance(value, list | tuple | set):
        return [redact(v, _depth + 1) for v in value]
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    if isinstance(value, str):
        value = BEARER.sub(lambda m: f"{m.group(1)} {REDACTED}", value)
        return value if len(value) <= MAX_TEXT else value[:MAX_TEXT] + "…"
    if isinstance(value, decimal.Decimal):
        return str(value)
    if isinstance(value, datetime.date | datetime.datetime):
        return value.isoformat()
    if value is None or isinstance(value, bool | int | float):
        return value
    return redact(str(value), _depth + 1)
