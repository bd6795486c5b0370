"""The shared throttle: sliding windows, requests in flight and 429 penalties, in every store."""

import threading
import uuid

import pytest

from integrations.providers.base import Limit
from integrations.sync.throttle import DatabaseStore, LocalStore, RedisStore, SharedThrottle


class FakeClock:
    def __init__(self):
        self.now = 1_000_000.0
        self.slept = []

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.slept.append(seconds)
        self.now += seconds


def make_store(kind, key):
    if kind == "local":
        return LocalStore(key)
    if kind == "database":
        return DatabaseStore(key)
    return RedisStore(key, "redis://127.0.0.1:6379/15")


STORES = ["local", "database", "redis"]


@pytest.fixture
def key():
    return f"test:{uuid.uuid4().hex}"


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("store", STORES)
def test_it_waits_for_the_window_when_a_limit_is_full(store, key):
    clock = FakeClock()
    throttle = SharedThrottle(
        store=make_store(store, key), limits=[Limit("any", 3, 60)], max_in_flight=5, clock=clock, sleep=clock.sleep
    )
    for _ in range(3):
        with throttle.slot("single"):
            pass
    assert clock.slept == []
    with throttle.slot("single"):
        pass
    assert sum(clock.slept) == pytest.approx(60, abs=1)


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("store", STORES)
def test_two_processes_share_one_window(store, key):
    clock = FakeClock()
    limits = [Limit("batch", 2, 60), Limit("any", 10, 60)]
    one = SharedThrottle(store=make_store(store, key), limits=limits, max_in_flight=10, clock=clock)
    other = SharedThrottle(store=make_store(store, key), limits=limits, max_in_flight=10, clock=clock)
    assert one.try_acquire("batch")[0]
    assert other.try_acquire("batch")[0]
    token, wait = one.try_acquire("batch")
    assert token is None and wait == pytest.approx(60, abs=1)
    # The batch window is full, the single-request budget is not.
    assert other.try_acquire("single")[0]


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("store", STORES)
def test_it_keeps_requests_in_flight_under_the_limit(store, key):
    clock = FakeClock()
    throttle = SharedThrottle(store=make_store(store, key), limits=[], max_in_flight=2, clock=clock)
    first, _ = throttle.try_acquire("single")
    second, _ = throttle.try_acquire("single")
    assert first and second
    assert throttle.try_acquire("single")[0] is None
    throttle.release(first)
    assert throttle.try_acquire("single")[0]


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("store", STORES)
def test_a_penalty_holds_everyone_back(store, key):
    clock = FakeClock()
    one = SharedThrottle(store=make_store(store, key), limits=[], max_in_flight=5, clock=clock)
    other = SharedThrottle(store=make_store(store, key), limits=[], max_in_flight=5, clock=clock)
    one.penalize(60)
    token, wait = other.try_acquire("single")
    assert token is None and wait == pytest.approx(60, abs=1)
    clock.now += 61
    assert other.try_acquire("single")[0]


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("store", STORES)
def test_a_slot_taken_ahead_counts_from_when_its_request_leaves(store, key):
    """The scheduler takes a slot, the worker sends later (a continuation's first requests wait for the
    access token): the provider counts the request when it arrives, so our window must too, or the
    next window's requests reach the provider while it still counts the late ones (a 429)."""
    clock = FakeClock()
    throttle = SharedThrottle(store=make_store(store, key), limits=[Limit("any", 1, 60)], max_in_flight=5, clock=clock)
    token, _ = throttle.try_acquire("single")
    throttle.hold("single", token)
    clock.now += 5  # the request leaves five seconds after its slot was taken
    with throttle.slot("single"):
        pass
    clock.now += 56  # 61 s after the slot was taken, 56 s after the request left
    assert throttle.try_acquire("single")[0] is None
    assert throttle.wait_time("single") == pytest.approx(4, abs=1)
    clock.now += 5
    assert throttle.try_acquire("single")[0]


@pytest.mark.django_db(transaction=True)
def test_threads_together_never_exceed_the_window(key):
    clock = FakeClock()
    store_limits = [Limit("any", 10, 60)]
    taken = []

    def worker():
        throttle = SharedThrottle(store=DatabaseStore(key), limits=store_limits, max_in_flight=20, clock=clock)
        for _ in range(5):
            token, _ = throttle.try_acquire("single")
            if token:
                taken.append(token)
        DatabaseStore.close_thread_connection()

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(taken) == 10


@pytest.mark.django_db(transaction=True)
def test_a_held_slot_is_used_by_the_next_request_of_its_kind(key):
    clock = FakeClock()
    scheduler = SharedThrottle(
        store=LocalStore(key), limits=[Limit("batch", 1, 60)], max_in_flight=5, clock=clock, sleep=clock.sleep
    )
    adapter_side = SharedThrottle(
        store=LocalStore(key), limits=[Limit("batch", 1, 60)], max_in_flight=5, clock=clock, sleep=clock.sleep
    )
    token, _ = scheduler.try_acquire("batch")
    adapter_side.hold("batch", token)
    with adapter_side.slot("batch"):
        pass
    assert clock.slept == []  # it did not wait for a second batch slot


def test_it_gives_up_instead_of_waiting_past_the_deadline(key):
    import time

    from integrations.sync.throttle import BudgetSpent

    throttle = SharedThrottle(store=LocalStore(key), limits=[Limit("any", 1, 60)], max_in_flight=5)
    throttle.deadline = time.monotonic() + 5
    with throttle.slot("single"):
        pass
    with pytest.raises(BudgetSpent):
        with throttle.slot("single"):
            pass


@pytest.mark.django_db(transaction=True)
def test_postgresql_decides_as_the_python_decision_does(key):
    """The one-round-trip function (PostgreSQL) and the Python decision (other databases) give the same
    answer on the same slots, penalty and limits, for both kinds, whether asked or taking: 150 seeded
    states with windows at, under and over their limits."""
    import random

    from django.db import connection

    from integrations.models import ThrottleBucket, ThrottleSlot

    if connection.vendor != "postgresql":
        pytest.skip("the function exists on PostgreSQL only")
    now = 1_000_000.0
    for seed in range(150):
        rng = random.Random(seed)
        limits = [Limit("any", rng.randint(1, 4), 1), Limit("any", rng.randint(2, 8), 60), Limit("batch", rng.randint(1, 3), 60)]
        max_in_flight = rng.randint(1, 6)
        penalized = rng.choice([0.0, 0.0, 0.0, now + 5.5, now + 0.5, now - 10])
        slots = [
            (
                rng.choice(["batch", "single"]),
                now - rng.uniform(0, rng.choice([1.3, 61.5, 130])),
                rng.choice([None, None, now - rng.uniform(0, 1)]),
            )
            for _ in range(rng.randint(0, 10))
        ]
        answers = {}
        for name in ("postgresql", "python"):
            store = DatabaseStore(f"{key}:{seed}:{name}")
            db = store._db()
            db.ensure_connection()
            bucket = ThrottleBucket.objects.get(pk=store._bucket(db))
            ThrottleBucket.objects.filter(pk=bucket.pk).update(penalized_until=penalized)
            ThrottleSlot.objects.bulk_create(ThrottleSlot(bucket=bucket, kind=k, started=s, ended=e) for k, s, e in slots)
            decide = getattr(store, f"_take_in_{name}")
            answers[name] = [
                decide(db, kind, limits, max_in_flight, now, take) for kind in ("batch", "single") for take in (False, True)
            ]
        for by_function, by_python in zip(answers["postgresql"], answers["python"], strict=True):
            assert by_function[0] == pytest.approx(by_python[0]), (seed, limits, max_in_flight, penalized, slots)
            assert (by_function[1] is None) == (by_python[1] is None), (seed, limits, max_in_flight, penalized, slots)
    DatabaseStore.close_thread_connection()


@pytest.mark.django_db(transaction=True)
def test_on_postgresql_a_release_is_written_by_the_next_slot_taken_or_at_the_end_of_a_push(key):
    from django.db import connection

    from integrations.models import ThrottleSlot

    if connection.vendor != "postgresql":
        pytest.skip("other databases write a release at once")
    clock = FakeClock()
    throttle = SharedThrottle(store=DatabaseStore(key), limits=[], max_in_flight=1, clock=clock, sleep=clock.sleep)
    first, _ = throttle.try_acquire("single")
    throttle.release(first)
    assert ThrottleSlot.objects.get(bucket__key=key).ended is None  # not a statement of its own
    second, wait = throttle.try_acquire("single")  # one in flight at most: the first's end is counted
    assert second and wait == 0
    assert ThrottleSlot.objects.filter(bucket__key=key, ended__isnull=False).count() == 1
    throttle.release(second)
    DatabaseStore.flush_releases()
    assert ThrottleSlot.objects.filter(bucket__key=key, ended__isnull=True).count() == 0
    DatabaseStore.close_thread_connection()
