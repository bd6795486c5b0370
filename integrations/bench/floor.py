"""The floor: the least wall time the provider's published limits and latencies allow for N records.

The limits are the sandbox's (its control report): `per_second`, `per_minute`, `batch_per_minute`
(QuickBooks: 10, 500, 40) and `in_flight` (10). Windows slide, so the k-th request can start no
earlier than the (k - limit)-th started plus the window; a request holds an in-flight slot for its
latency (single or batch). The schedule is built greedily: at each step the request that can start
earliest goes (a batch of up to `batch_size` records when it starts no later than a single request,
otherwise a single request). The floor is the fastest of three schedules: that hybrid, batches only,
and single requests only; its end is when the last request answers.
"""

from __future__ import annotations

import heapq
from bisect import bisect_right
from dataclasses import dataclass, field


@dataclass
class Floor:
    seconds: float
    batches: int
    singles: int
    strategy: str  # "hybrid", "batches only", "singles only"
    explanation: str
    starts: tuple = field(default=(), repr=False)  # each request's start, seconds from 0
    batch_starts: tuple = field(default=(), repr=False)


class _Schedule:
    def __init__(self, limits, single_latency, batch_latency):
        self.limits = limits
        self.latency = {"single": single_latency, "batch": batch_latency}
        self.starts = []  # every request's start, nondecreasing
        self.batch_starts = []
        self.slots = []  # min-heap of in-flight ends, at most `in_flight` long
        self.end = 0.0

    def earliest(self, kind):
        t = self.starts[-1] if self.starts else 0.0
        per_second = self.limits.get("per_second")
        per_minute = self.limits.get("per_minute")
        batch_per_minute = self.limits.get("batch_per_minute")
        in_flight = self.limits.get("in_flight")
        if per_second and len(self.starts) >= per_second:
            t = max(t, self.starts[-per_second] + 1.0)
        if per_minute and len(self.starts) >= per_minute:
            t = max(t, self.starts[-per_minute] + 60.0)
        if kind == "batch" and batch_per_minute and len(self.batch_starts) >= batch_per_minute:
            t = max(t, self.batch_starts[-batch_per_minute] + 60.0)
        if in_flight and len(self.slots) >= in_flight:
            t = max(t, self.slots[0])
        return t

    def send(self, kind, t):
        self.starts.append(t)
        if kind == "batch":
            self.batch_starts.append(t)
        in_flight = self.limits.get("in_flight")
        if in_flight and len(self.slots) >= in_flight:
            heapq.heappop(self.slots)
        finish = t + self.latency[kind]
        heapq.heappush(self.slots, finish)
        self.end = max(self.end, finish)


def _simulate(records, batch_size, limits, single_latency, batch_latency, mode):
    schedule = _Schedule(limits, single_latency, batch_latency)
    remaining, batches, singles = records, 0, 0
    while remaining > 0:
        use_batch = batch_size > 1 and mode != "singles" and (remaining > 1 or mode == "batches")
        if use_batch and mode == "hybrid":
            use_batch = schedule.earliest("batch") <= schedule.earliest("single")
        kind = "batch" if use_batch else "single"
        schedule.send(kind, schedule.earliest(kind))
        if use_batch:
            remaining -= min(batch_size, remaining)
            batches += 1
        else:
            remaining -= 1
            singles += 1
    return schedule, batches, singles


def floor_for(*, records, batch_size, limits, single_latency, batch_latency, only=()):
    """The Floor for `records` records at `limits` (dict as the sandbox's control report gives it),
    latencies in seconds. Only the limits that bound a burst of writes are used (per_second,
    per_minute, batch_per_minute, in_flight); the day limit is reported, not simulated. `only` limits
    the schedules compared ("hybrid", "batches", "singles")."""
    limits = {k: v for k, v in (limits or {}).items() if v}
    if records <= 0:
        return Floor(0.0, 0, 0, "nothing to send", "No records: no time.")
    modes = ["hybrid", "batches", "singles"] if batch_size > 1 and limits.get("batch_per_minute") else ["batches", "singles"]
    if batch_size <= 1:
        modes = ["singles"]
    if only:
        modes = [m for m in modes if m in only] or modes
    best = None
    for mode in modes:
        schedule, batches, singles = _simulate(records, batch_size, limits, single_latency, batch_latency, mode)
        if best is None or schedule.end < best[0].end:
            best = (schedule, batches, singles, mode)
    schedule, batches, singles, mode = best
    shown = ", ".join(f"{k} {limits[k]}" for k in ("per_second", "per_minute", "batch_per_minute", "in_flight") if k in limits)
    strategy = {"hybrid": "hybrid", "batches": "batches only", "singles": "singles only"}[mode]
    explanation = (
        f"greedy schedule of {records} records under the sandbox limits ({shown or 'none'}), sliding windows, "
        f"{batch_latency * 1000:.0f} ms per batch of up to {batch_size} and {single_latency * 1000:.0f} ms per single request; "
        f"fastest of {', '.join(modes)}: {strategy} with {batches} batches and {singles} single requests, "
        f"ending when the last request answers"
    )
    return Floor(schedule.end, batches, singles, strategy, explanation, tuple(schedule.starts), tuple(schedule.batch_starts))


def requests_in_window(starts, t, window):
    """How many of the sorted `starts` fall in (t - window, t] (used by tests to check a schedule)."""
    return bisect_right(starts, t) - bisect_right(starts, t - window)
