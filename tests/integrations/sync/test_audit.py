"""What a SyncEvent keeps: secrets replaced, everything else JSON-safe."""

import dataclasses
import datetime
import json
from decimal import Decimal

from integrations.sync.audit import MAX_TEXT, REDACTED, redact


@dataclasses.dataclass
class Answer:
    access_token: str
    amount: Decimal


def test_it_replaces_secret_keys_at_any_depth_and_keeps_the_rest():
    kept = redact({"Item": {"Name": "Drain", "refresh_token": "r1"}, "headers": {"Authorization": "Bearer abc"}, 3: [1, None]})
    assert kept == {"Item": {"Name": "Drain", "refresh_token": REDACTED}, "headers": {"Authorization": REDACTED}, "3": [1, None]}


def test_it_hides_credentials_inside_text_and_bytes():
    assert redact("sent Bearer abc.def-1 to them") == f"sent Bearer {REDACTED} to them"
    assert redact(b"basic dXNlcjpwYXNz here") == f"basic {REDACTED} here"


def test_it_makes_other_values_json_safe():
    kept = redact(
        {
            "amount": Decimal("12.50"),
            "on": datetime.date(2026, 11, 24),
            "at": datetime.datetime(2026, 11, 24, 9, 30),
            "ids": (1, 2),
            "tags": {"a"},
            "flag": True,
            "answer": Answer(access_token="t", amount=Decimal("1")),
            "other": object,
        }
    )
    json.dumps(kept)
    assert kept["amount"] == "12.50" and kept["on"] == "2026-11-24" and kept["at"] == "2026-11-24T09:30:00"
    assert kept["ids"] == [1, 2] and kept["tags"] == ["a"] and kept["flag"] is True
    assert kept["answer"] == {"access_token": REDACTED, "amount": "1"}
    assert kept["other"] == "<class 'object'>"


def test_it_cuts_long_text_and_deep_nesting():
    assert redact("x" * (MAX_TEXT + 10)) == "x" * MAX_TEXT + "…"
    deep = current = {}
    for _ in range(20):
        current["next"] = {}
        current = current["next"]
    assert "…" in json.dumps(redact(deep), ensure_ascii=False)
