"""The product's clock: real time, unless a simulation moves it.

Domain code asks this module, not ``timezone.now()``, for the moment things happen
(plans, sends, leases, profile snapshots, callback freshness, link clicks, access-token
expiry, the platform's day), so that ``fencun demo`` can run a month of campaigns in
minutes with every stored time on the simulated calendar, in step with the sandbox's
clock. The console's sessions and the API's rate windows keep real time. In production
the offset is always zero.
"""

from __future__ import annotations

import time as _time
from datetime import UTC, datetime, timedelta

_offset = 0.0  # seconds added to real time


def time() -> float:
    """Seconds since the epoch on the product's clock."""
    return _time.time() + _offset


def now() -> datetime:
    """The product's current time, timezone-aware (UTC)."""
    return datetime.now(UTC) + timedelta(seconds=_offset)


def set_now(at: datetime) -> None:
    """Move the clock so that it reads ``at`` now (and runs on from there)."""
    global _offset
    _offset = at.timestamp() - _time.time()


def reset() -> None:
    """Back to real time."""
    global _offset
    _offset = 0.0
