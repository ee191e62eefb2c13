"""Time in the engine: epoch seconds (float64, NaN = never) and Asia/Shanghai local time.

China has kept UTC+8 without daylight saving since 1991, so a fixed offset is exact
and needs no time-zone database.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

SHANGHAI = timezone(timedelta(hours=8), "Asia/Shanghai")
DAY = 86400.0
HOUR = 3600.0
_OFFSET = 8 * HOUR


def to_epoch(at: str | datetime | float | int) -> float:
    """Epoch seconds from an ISO 8601 string (with offset; naive means Asia/Shanghai), a datetime or a number."""
    if isinstance(at, int | float):
        return float(at)
    if isinstance(at, str):
        at = datetime.fromisoformat(at)
    if at.tzinfo is None:
        at = at.replace(tzinfo=SHANGHAI)
    return at.timestamp()


def iso(ts: float) -> str:
    """ISO 8601 in Asia/Shanghai, seconds precision: ``2025-03-01T10:00:00+08:00``."""
    return datetime.fromtimestamp(round(ts), SHANGHAI).isoformat()


def local_day_number(ts: float) -> int:
    """Days since 1970-01-01 in Asia/Shanghai local time."""
    return int((ts + _OFFSET) // DAY)


def local_minute_of_day(ts: float) -> int:
    """Minutes after local midnight, Asia/Shanghai."""
    return int(((ts + _OFFSET) % DAY) // 60)


def local_month_key(ts: float) -> int:
    """``year * 12 + month - 1`` of the local calendar month (WeChat counts months by calendar)."""
    d = datetime.fromtimestamp(ts, SHANGHAI)
    return d.year * 12 + d.month - 1


def local_midnight(d: date) -> float:
    """Epoch seconds of local midnight starting ``d``."""
    return datetime(d.year, d.month, d.day, tzinfo=SHANGHAI).timestamp()


def utc_now() -> float:
    return datetime.now(UTC).timestamp()
