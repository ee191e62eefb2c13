"""Saved segments (the merchant's named audience filters, stored by audience) and their
live counts.

A count evaluates the segment language on the engine's follower state (the same state
and the same evaluator the planner uses, so a count is what a campaign would reach
before the rules). Building the state reads the whole event log, so it is kept per
account for :data:`STATE_SECONDS`: counts typed live in the console stay fast and are
at most that old. A follower's page reads its interests from the same state.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from fencun import clock
from fencun.accounts.models import Account
from fencun.audience.models import Segment
from fencun.campaigns.planning import build_state
from fencun.engine.segments import SegmentError, check_segment, evaluate_segment

STATE_SECONDS = 60.0

_states: dict[int, tuple[float, object]] = {}
_lock = threading.Lock()


class SegmentInputError(ValueError):
    """A refused segment: the message says why (the bad token for a parse error)."""


@dataclass(frozen=True)
class SegmentCount:
    matched: int  # subscribed followers the filter selects
    subscribed: int  # all subscribed followers


def _state(account: Account):
    with _lock:
        cached = _states.get(account.pk)
        if cached is not None and time.monotonic() - cached[0] < STATE_SECONDS:
            return cached[1]
    state = build_state(account)
    with _lock:
        _states[account.pk] = (time.monotonic(), state)
    return state


def forget_states() -> None:
    """Drop the cached states (the next count rebuilds)."""
    with _lock:
        _states.clear()


def check(account: Account, text: str) -> None:
    """Parse ``text`` and check its category names; :class:`SegmentInputError` if bad."""
    if not text.strip():
        raise SegmentInputError(_("The filter is empty."))
    state = _state(account)
    try:
        check_segment(text, state.categories)
    except SegmentError as exc:
        raise SegmentInputError(str(exc)) from None


def count(account: Account, text: str) -> SegmentCount:
    """How many subscribed followers ``text`` selects now."""
    check(account, text)
    state = _state(account)
    subscribed = state.subscribed
    mask = evaluate_segment(text, state, clock.time()) & subscribed
    return SegmentCount(int(mask.sum()), int(subscribed.sum()))


def save(account: Account, name: str, text: str) -> Segment:
    """Save a named segment after checking it; names are unique per account."""
    name = name.strip()
    if not name:
        raise SegmentInputError(_("A segment needs a name."))
    check(account, text)
    try:
        with transaction.atomic():
            return Segment.objects.create(account=account, name=name[:100], text=text.strip())
    except IntegrityError:
        raise SegmentInputError(_("A segment named “%(name)s” exists already.") % {"name": name}) from None


def update(segment: Segment, *, name: str | None = None, text: str | None = None) -> Segment:
    """Rename ``segment`` or change its filter (each checked as :func:`save` checks it);
    :class:`SegmentInputError` says why a change is refused, and nothing is saved."""
    if name is not None:
        name = name.strip()
        if not name:
            raise SegmentInputError(_("A segment needs a name."))
        segment.name = name[:100]
    if text is not None:
        check(segment.account, text)
        segment.text = text.strip()
    try:
        with transaction.atomic():
            segment.save()
    except IntegrityError:
        segment.refresh_from_db()
        raise SegmentInputError(_("A segment named “%(name)s” exists already.") % {"name": name}) from None
    return segment


def delete(segment: Segment) -> None:
    """Delete a saved segment; campaigns keep their own copy of the filter text."""
    segment.delete()


def segments_of(account: Account):
    """The account's saved segments, by name."""
    return Segment.objects.filter(account=account).order_by("name")


def interests(account: Account, openid: str) -> list[tuple[str, float]]:
    """The follower's interest per category (0–1, from reads, clicks, texts, orders),
    strongest first, those above zero only."""
    state = _state(account)
    row = state.index.get(openid)
    if row is None:
        return []
    scores = state.interest(clock.time())[row]
    ranked = sorted(zip(state.categories, scores.tolist(), strict=True), key=lambda cs: -cs[1])
    return [(c.name, round(score, 2)) for c, score in ranked if score > 0.005]
