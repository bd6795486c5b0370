"""Process measurements: CPU seconds, peak RSS, and database queries of the calling thread."""

from __future__ import annotations

import resource
import sys
from contextlib import contextmanager

from django.db import connection


def cpu_seconds():
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def peak_rss_mb():
    """Peak resident set size of this process so far (ru_maxrss: KiB on Linux, bytes on macOS)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


class QueryCounter:
    def __init__(self):
        self.count = 0

    def __call__(self, execute, sql, params, many, context):
        self.count += 1
        return execute(sql, params, many, context)


@contextmanager
def counting_queries():
    """Counts the queries this thread's default connection runs (the push engine's sync state: the
    engine keeps the ORM on its main thread)."""
    counter = QueryCounter()
    with connection.execute_wrapper(counter):
        yield counter
