"""Figures as merchants read them: money in yuan with thousands separators, shares as
per cent, differences of shares in percentage points, in the active language. The one
formatting layer: the console's template filters (``console/templatetags/figures.py``),
the report's sentences and the command line all format through here."""

from __future__ import annotations

import math

from django.utils.translation import get_language


def _zh() -> bool:
    return (get_language() or "zh-hans").startswith("zh")


def _number(value: object, places: int | None = None) -> float | None:
    """``value`` as a float (None if it is none); with ``places``, a value that rounds to
    zero is zero, so no "-0.00" is shown."""
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    if math.isnan(number):
        return None
    if places is not None and not math.isinf(number) and round(number, int(places)) == 0:
        return 0.0
    return number


def count(value: object) -> str:
    """A count with thousands separators: ``26,376``; a difference keeps its sign."""
    number = _number(value, 0)
    return "—" if number is None or math.isinf(number) else f"{round(number):,}"


def yuan(value: object, places: int = 2) -> str:
    """``1,234.50 元`` (Chinese) or ``¥1,234.50`` (English); a difference keeps its sign."""
    number = _number(value, places)
    if number is None:
        return "—"
    if math.isinf(number):
        return "∞" if number > 0 else "-∞"
    sign = "-" if number < 0 else ""
    text = f"{abs(number):,.{int(places)}f}"
    return f"{sign}{text} 元" if _zh() else f"{sign}¥{text}"


def signed_yuan(value: object, places: int = 2) -> str:
    """:func:`yuan` with a ``+`` before gains: for differences."""
    number = _number(value, places)
    text = yuan(value, places)
    return f"+{text}" if number is not None and number > 0 and not text.startswith("∞") else text


def percent(value: object, places: int = 1) -> str:
    """A share (0.123) as ``12.3%``."""
    number = _number(value)
    return "—" if number is None else f"{number * 100:.{int(places)}f}%"


def points(value: object, places: int = 2) -> str:
    """A difference of two shares (0.0012) in percentage points: ``+0.12 个百分点`` / ``+0.12 pp``."""
    number = _number(value, int(places) + 2)
    if number is None:
        return "—"
    text = f"{number * 100:+.{int(places)}f}"
    return f"{text} 个百分点" if _zh() else f"{text} pp"


def signed(value: object, places: int = 2) -> str:
    """A difference of counts (orders per follower…) with its sign: ``+0.04``."""
    number = _number(value, places)
    return "—" if number is None else f"{number:+,.{int(places)}f}"
