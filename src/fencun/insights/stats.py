"""Confidence intervals for a campaign's lift over its holdout.

Conversion: Newcombe's hybrid score interval (his method 10) for a difference of two
proportions, built from the two Wilson score intervals. Conversions are rare and
holdouts small, where the plain Wald interval collapses to zero width at 0 conversions
and undercovers; Newcombe's interval keeps close to nominal coverage there and needs
only the counts the rollups already keep (no resampling of members on every page view).

Revenue per follower: Welch's normal interval for a difference of means, from the sums
and sums of squares the rollups keep. It is an approximation: revenue is heavy-tailed,
so with few converters the interval is optimistic; the report says how many converted.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

Z95 = 1.959963984540054


@dataclass(frozen=True)
class Interval:
    estimate: float
    low: float
    high: float


def wilson(successes: int, n: int, z: float = Z95) -> Interval:
    """Wilson score interval for a proportion ``successes / n``."""
    if n <= 0:
        return Interval(0.0, 0.0, 1.0)
    p = successes / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return Interval(p, max(0.0, centre - half), min(1.0, centre + half))


def newcombe_difference(x1: int, n1: int, x2: int, n2: int, z: float = Z95) -> Interval:
    """Interval for ``x1/n1 - x2/n2`` (Newcombe 1998, method 10)."""
    a, b = wilson(x1, n1, z), wilson(x2, n2, z)
    d = a.estimate - b.estimate
    low = d - math.sqrt((a.estimate - a.low) ** 2 + (b.high - b.estimate) ** 2)
    high = d + math.sqrt((a.high - a.estimate) ** 2 + (b.estimate - b.low) ** 2)
    return Interval(d, max(-1.0, low), min(1.0, high))


def mean_difference(s1: float, q1: float, n1: int, s2: float, q2: float, n2: int, z: float = Z95) -> Interval:
    """Welch interval for ``mean1 - mean2`` given sums ``s`` and sums of squares ``q``."""
    if n1 <= 0 or n2 <= 0:
        return Interval(0.0, -math.inf, math.inf)
    m1, m2 = s1 / n1, s2 / n2
    v1 = max(q1 / n1 - m1 * m1, 0.0) * n1 / max(n1 - 1, 1)
    v2 = max(q2 / n2 - m2 * m2, 0.0) * n2 / max(n2 - 1, 1)
    se = math.sqrt(v1 / n1 + v2 / n2)
    d = m1 - m2
    return Interval(d, d - z * se, d + z * se)
