"""Fixtures of the bad_input tests: a connection to a fresh sandbox company (tests.drills.sandbox)."""

from tests.drills.sandbox import connect, enqueued  # noqa: F401
