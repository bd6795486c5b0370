"""The floor's arithmetic: the least time the sandbox's limits and latencies allow."""

import pytest

from integrations.bench.floor import floor_for, requests_in_window

QUICKBOOKS = {"max_batch_size": 30, "per_minute": 500, "batch_per_minute": 40, "per_second": 10, "in_flight": 10}
XERO = {"per_minute": 60, "in_flight": 5, "per_day": 5000, "app_per_minute": 10000}


def test_nothing_to_send_takes_no_time():
    assert floor_for(records=0, batch_size=30, limits=QUICKBOOKS, single_latency=0.33, batch_latency=0.5).seconds == 0


def test_in_flight_alone_bounds_single_requests():
    floor = floor_for(records=10, batch_size=1, limits={"in_flight": 2}, single_latency=1.0, batch_latency=1.0)
    assert floor.seconds == pytest.approx(5.0)
    assert (floor.batches, floor.singles) == (0, 10)


def test_xero_waits_for_the_minute_window_after_sixty_requests():
    floor = floor_for(records=3629, batch_size=50, limits=XERO, single_latency=0.33, batch_latency=0.5)
    # 73 arrays of up to 50: 60 in the first minute (5 in flight, 0.5 s each), the 13 others from t=60
    # in three rounds of 5 in flight: 60.0, 60.5, 61.0, the last answering at 61.5.
    assert floor.batches == 73
    assert floor.singles == 0
    assert floor.seconds == pytest.approx(61.5)


def test_quickbooks_hybrid_beats_batches_alone_at_3629_items():
    floor = floor_for(records=3629, batch_size=30, limits=QUICKBOOKS, single_latency=0.33, batch_latency=0.5)
    batches_only = floor_for(
        records=3629, batch_size=30, limits=QUICKBOOKS, single_latency=0.33, batch_latency=0.5, only=("batches",)
    )
    assert floor.strategy == "hybrid"
    assert floor.batches * 30 + floor.singles >= 3629
    # Batches alone: 121 batches at 40 a minute start their last at t=180.
    assert batches_only.seconds == pytest.approx(180.5)
    # 40 batches and 460 single requests a minute carry 1,660 records: two minutes, then the rest at t=120-121.
    assert 120 < floor.seconds < 125
    assert "hybrid" in floor.explanation and "batch_per_minute 40" in floor.explanation


def test_a_remainder_goes_as_a_single_request_beside_the_batch():
    floor = floor_for(records=31, batch_size=30, limits=QUICKBOOKS, single_latency=0.33, batch_latency=0.5)
    assert (floor.batches, floor.singles) == (1, 1)
    assert floor.seconds == pytest.approx(0.5)


@pytest.mark.parametrize("records", [500, 3629, 8000])
def test_the_schedule_never_exceeds_a_limit(records):
    floor = floor_for(records=records, batch_size=30, limits=QUICKBOOKS, single_latency=0.33, batch_latency=0.5)
    starts, batch_starts = floor.starts, floor.batch_starts
    assert len(starts) == floor.batches + floor.singles
    assert list(starts) == sorted(starts)
    assert max(requests_in_window(starts, t, 60.0) for t in starts) <= 500
    assert max(requests_in_window(starts, t, 1.0) for t in starts) <= 10
    assert max(requests_in_window(batch_starts, t, 60.0) for t in batch_starts) <= 40
