"""The merchant's rules and the dial: a dataclass with the defaults a new shop gets."""

from __future__ import annotations

from dataclasses import dataclass

from fencun.engine.clock import local_minute_of_day

MAX_CONTROL_FRACTION = 0.2


def _minutes(hhmm: str) -> int:
    hours, _, minutes = hhmm.partition(":")
    value = int(hours) * 60 + int(minutes or 0)
    if not 0 <= value < 24 * 60:
        raise ValueError(f"not a time of day: {hhmm!r}")
    return value


@dataclass(frozen=True)
class MerchantRules:
    """Rules the merchant sets. Hard rules are never broken; the dial moves the decision.

    Times of day are Asia/Shanghai. ``follower_value_yuan`` is the dial: what keeping one
    follower is worth to the merchant, in yuan. ``None`` lets the engine learn it from
    observed revenue per follower-day over the follower's expected remaining time as a
    follower (one over the observed daily unfollow rate without pushes), kept between
    ``value_horizon_days`` and ``max_value_horizon_days``.
    """

    quiet_start: str = "22:00"
    quiet_end: str = "08:00"
    weekly_cap: int = 3  # pushes per follower per rolling 7 days
    category_cooldown_days: float = 3.0  # no second push of one category within this
    min_gap_hours: float = 20.0  # between any two pushes to one follower
    holdout_fraction: float = 0.05  # of each campaign's chosen recipients, kept back to measure it
    control_fraction: float = 0.05  # of all followers, never sent marketing: the long-run lift
    follower_value_yuan: float | None = None
    value_horizon_days: float = 180.0  # at least this many days of a follower's revenue
    max_value_horizon_days: float = 730.0  # at most this many (the learned lifetime is capped)
    min_follower_value_yuan: float = 20.0  # floor for the learned value while data is thin
    exploration: float = 1.0  # scale of Thompson sampling noise; 0 = posterior means only
    exploration_share: float = 0.05  # at most this share of a campaign's open followers sent only to learn
    max_campaigns_per_plan: int = 1  # per follower in one planning run

    def __post_init__(self) -> None:
        _minutes(self.quiet_start)
        _minutes(self.quiet_end)
        if not 0.0 <= self.holdout_fraction < 1.0:
            raise ValueError("holdout_fraction must be in [0, 1)")
        if not 0.0 <= self.exploration_share <= 1.0:
            raise ValueError("exploration_share must be in [0, 1]")
        if not 0.0 <= self.control_fraction <= MAX_CONTROL_FRACTION:
            raise ValueError(f"control_fraction must be in [0, {MAX_CONTROL_FRACTION}]")
        if self.weekly_cap < 0 or self.min_gap_hours < 0 or self.category_cooldown_days < 0:
            raise ValueError("caps, gaps and cooldowns must not be negative")
        if self.follower_value_yuan is not None and self.follower_value_yuan < 0:
            raise ValueError("follower_value_yuan must not be negative")

    def in_quiet_hours(self, ts: float) -> bool:
        """Whether the epoch time ``ts`` falls in the quiet hours (start inclusive, end exclusive)."""
        start, end, minute = (
            _minutes(self.quiet_start),
            _minutes(self.quiet_end),
            local_minute_of_day(ts),
        )
        if start == end:
            return False
        if start < end:
            return start <= minute < end
        return minute >= start or minute < end

    def quiet_end_minute(self) -> int:
        return _minutes(self.quiet_end)
