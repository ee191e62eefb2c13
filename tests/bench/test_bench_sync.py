"""The sync benchmark's floor: what the platform's page sizes and the latency allow."""

from __future__ import annotations

import pytest

from fencun.bench.sync import floor_seconds


def test_the_floor_chains_the_list_pages_and_runs_batchget_calls_side_by_side():
    calls = {"token": 1, "tags/get": 1, "user/get": 11, "user/info/batchget": 1000}
    # 13 calls in sequence and 1,000 batchget calls 8 at a time (125 rounds), 20 ms each.
    assert floor_seconds(calls, 20.0, 8) == pytest.approx((13 + 125) * 0.02)
    # One batchget more needs a round more; one worker runs them one after another.
    assert floor_seconds({**calls, "user/info/batchget": 1001}, 20.0, 8) == pytest.approx((13 + 126) * 0.02)
    assert floor_seconds(calls, 20.0, 1) == pytest.approx((13 + 1000) * 0.02)
