"""Fixtures of the drills tests: a connection to a fresh sandbox company (tests.drills.sandbox)."""

from tests.drills.sandbox import connect, enqueued  # noqa: F401
