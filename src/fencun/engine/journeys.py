"""Journeys: triggered follow-ups whose every send is an engine decision.

A journey is a trigger, then steps (send, or wait some days), then exit conditions::

    {"id": "welcome-store42",
     "trigger": {"kind": "subscribe", "scene": "store42"},
     "steps": [{"send": {"title": "...", "category": "sofa", "products": [...]}},
               {"wait_days": 3},
               {"send": {...}}],
     "exit": {"on_order": true}}

Triggers: ``subscribe`` (through a QR scene, with or without its ``qrscene_`` prefix, or
any), ``order``, ``keyword`` (a text holding the keyword), ``location`` (a location within
``km`` of a store), ``inactive`` (no interaction for ``days``), ``link_click``. A follower
enters a journey once. They leave it when they unfollow, when they order (``on_order``,
the goal reached: not the order that made them enter), or after its last step.

:class:`JourneyBook` keeps who is where (step and when it is due); the caller turns the
sends due at a moment into :class:`~fencun.engine.planner.Campaign` s restricted to those
followers (``members``), one per journey step, so the planner decides each with the
engine's estimates, caps and reasons like any campaign, and a follower receives a step at
most once (the step is its own campaign id). Every due follower moves on whatever the
decision: a step held back is skipped, with its reason kept by the plan.

Pure: no Django; the backtest drives it, day by day.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from fencun.engine.catalog import Category
from fencun.engine.clock import DAY, to_epoch
from fencun.engine.geo import haversine_km
from fencun.engine.limits import PlatformLimits
from fencun.engine.planner import Campaign, Product, customer_service_window
from fencun.engine.state import FollowerState

TRIGGERS = ("subscribe", "order", "keyword", "location", "inactive", "link_click")
#: Separates a journey's id from its step in the step's campaign id.
STEP_SEPARATOR = "#step"
MAX_STEPS = 20
MAX_WAIT_DAYS = 365


class JourneyError(ValueError):
    """A journey that cannot run; the message says which part and why."""


@dataclass(frozen=True)
class Trigger:
    kind: str
    scene: str | None = None
    keyword: str | None = None
    km: float | None = None
    days: float | None = None


@dataclass(frozen=True)
class SendStep:
    title: str
    category: str
    products: tuple[Product, ...] = ()


@dataclass(frozen=True)
class Journey:
    id: str
    trigger: Trigger
    steps: tuple[SendStep | float, ...]  # a float is a wait, in days
    exit_on_order: bool = True

    def step_campaign_id(self, step: int, channel: str = "mass") -> str:
        return f"{self.id}{STEP_SEPARATOR}{step}.{channel}"

    @property
    def sends(self) -> list[tuple[int, SendStep]]:
        return [(i, s) for i, s in enumerate(self.steps) if isinstance(s, SendStep)]


def _scene(value: str) -> str:
    return value[len("qrscene_") :] if value.lower().startswith("qrscene_") else value


def _trigger(raw: Any, where: str) -> Trigger:
    if not isinstance(raw, Mapping) or raw.get("kind") not in TRIGGERS:
        raise JourneyError(f"{where}: trigger.kind must be one of {', '.join(TRIGGERS)}")
    kind = str(raw["kind"])
    scene = raw.get("scene")
    keyword = raw.get("keyword")
    if kind == "keyword" and (not isinstance(keyword, str) or not keyword.strip()):
        raise JourneyError(f"{where}: a keyword trigger needs a keyword (else it fires on every text)")
    km, days = raw.get("km"), raw.get("days")
    if kind == "location" and (not isinstance(km, int | float) or not 0 < km <= 1000):
        raise JourneyError(f"{where}: a location trigger needs km in (0, 1000]")
    if kind == "inactive" and (not isinstance(days, int | float) or not 1 <= days <= MAX_WAIT_DAYS):
        raise JourneyError(f"{where}: an inactive trigger needs days in [1, {MAX_WAIT_DAYS}]")
    return Trigger(
        kind,
        scene=_scene(str(scene)) if isinstance(scene, str) and scene else None,
        keyword=keyword.strip() if isinstance(keyword, str) else None,
        km=float(km) if isinstance(km, int | float) and kind == "location" else None,
        days=float(days) if isinstance(days, int | float) and kind == "inactive" else None,
    )


def _step(raw: Any, where: str, categories: set[str]) -> SendStep | float:
    if isinstance(raw, Mapping) and "wait_days" in raw:
        days = raw["wait_days"]
        if not isinstance(days, int | float) or isinstance(days, bool) or not 0 < days <= MAX_WAIT_DAYS:
            raise JourneyError(f"{where}: wait_days must be in (0, {MAX_WAIT_DAYS}]")
        return float(days)
    send = raw.get("send") if isinstance(raw, Mapping) else None
    if not isinstance(send, Mapping):
        raise JourneyError(f"{where}: a step is {{'send': {{...}}}} or {{'wait_days': N}}")
    category = str(send.get("category", ""))
    if category not in categories:
        raise JourneyError(f"{where}: unknown category {category!r}")
    try:
        products = tuple(Product(str(p["id"]), float(p["price"])) for p in send.get("products") or ())
    except (KeyError, TypeError, ValueError) as exc:
        raise JourneyError(f"{where}: each product needs an id and a price ({exc})") from None
    return SendStep(str(send.get("title") or ""), category, products)


def parse_journeys(raw: Any, categories: Sequence[Category]) -> list[Journey]:
    """The scenario's ``journeys`` (or a product's), checked; :class:`JourneyError` names
    the first thing wrong."""
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise JourneyError("journeys: expected a list")
    known = {c.id for c in categories}
    out: list[Journey] = []
    for n, item in enumerate(raw):
        where = f"journeys[{n}]"
        if not isinstance(item, Mapping) or not str(item.get("id") or "").strip():
            raise JourneyError(f"{where}: needs an id")
        jid = str(item["id"])
        if STEP_SEPARATOR in jid or any(j.id == jid for j in out):
            raise JourneyError(f"{where}: id {jid!r} is taken or holds {STEP_SEPARATOR!r}")
        steps_raw = item.get("steps")
        if not isinstance(steps_raw, list) or not 1 <= len(steps_raw) <= MAX_STEPS:
            raise JourneyError(f"{where}: steps must be a list of 1 to {MAX_STEPS}")
        steps = tuple(_step(s, f"{where}.steps[{i}]", known) for i, s in enumerate(steps_raw))
        if not any(isinstance(s, SendStep) for s in steps):
            raise JourneyError(f"{where}: a journey needs at least one send step")
        exit_raw = item.get("exit") or {}
        if not isinstance(exit_raw, Mapping):
            raise JourneyError(f"{where}: exit must be an object")
        out.append(Journey(jid, _trigger(item.get("trigger"), where), steps, bool(exit_raw.get("on_order", True))))
    return out


def fires(trigger: Trigger, ev: Mapping[str, Any], stores: Sequence[tuple[float, float]] = ()) -> bool:
    """Whether event ``ev`` (``kind`` and its payload's fields) fires ``trigger``; an
    ``inactive`` trigger is a state, not an event, and never fires here."""
    kind = ev.get("kind")
    if trigger.kind == "subscribe":
        if kind != "subscribe":
            return False
        value = str(ev.get("scene_value") or ev.get("scene") or "")
        return trigger.scene is None or _scene(value) == trigger.scene
    if trigger.kind == "keyword":
        return kind == "text" and (trigger.keyword or "") in str(ev.get("content") or "")
    if trigger.kind == "location":
        if kind != "location" or not stores:
            return False
        try:
            lat, lng = float(ev["lat"]), float(ev["lng"])
        except (KeyError, TypeError, ValueError):
            return False
        return min(haversine_km(lat, lng, s[0], s[1]) for s in stores) <= (trigger.km or 0)
    return trigger.kind != "inactive" and trigger.kind == kind  # order, link_click


def advance(journey: Journey, step: int, at: float) -> tuple[int, float] | None:
    """The send step a follower placed at ``step`` at ``at`` waits for, and when it is
    due (waits passed); None past the last step: they leave."""
    while step < len(journey.steps) and not isinstance(journey.steps[step], SendStep):
        at += float(journey.steps[step]) * DAY  # type: ignore[arg-type]  # a wait
        step += 1
    return (step, at) if step < len(journey.steps) else None


@dataclass
class Tally:
    """One journey's figures: followers who entered, left on an order (the goal), sends,
    and step decisions held back."""

    entered: int = 0
    converted: int = 0
    sent: int = 0
    held_back: int = 0


@dataclass
class JourneyBook:
    """Who is at which step of which journey, and when that step is due."""

    journeys: list[Journey]
    stores: list[tuple[float, float]] = field(default_factory=list)
    # journey id -> openid -> (step index, due at)
    at: dict[str, dict[str, tuple[int, float]]] = field(default_factory=dict)
    seen: dict[str, set[str]] = field(default_factory=dict)  # every follower who entered
    tallies: dict[str, Tally] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for j in self.journeys:
            self.at.setdefault(j.id, {})
            self.seen.setdefault(j.id, set())
            self.tallies.setdefault(j.id, Tally())

    # -- entering and leaving ----------------------------------------------------------

    def _enter(self, journey: Journey, openid: str, at: float) -> None:
        if openid in self.seen[journey.id]:
            return
        self.seen[journey.id].add(openid)
        self.tallies[journey.id].entered += 1
        self._move(journey, openid, 0, at)

    def _move(self, journey: Journey, openid: str, step: int, at: float) -> None:
        """Place a follower at ``step``, passing waits; past the last step, they leave."""
        placed = advance(journey, step, at)
        if placed is None:
            self.at[journey.id].pop(openid, None)
        else:
            self.at[journey.id][openid] = placed

    def observe(self, events: Iterable[Mapping[str, Any]]) -> None:
        """Enter and leave on the day's events (in time order)."""
        for ev in sorted(events, key=lambda e: to_epoch(e["at"])):
            openid = ev.get("openid")
            if not openid:
                continue
            kind, at = ev.get("kind"), to_epoch(ev["at"])
            for journey in self.journeys:
                inside = openid in self.at[journey.id]
                if inside and kind == "unsubscribe":
                    del self.at[journey.id][openid]
                elif inside and kind == "order" and journey.exit_on_order:
                    del self.at[journey.id][openid]
                    self.tallies[journey.id].converted += 1
                elif not inside and journey.trigger.kind != "inactive" and fires(journey.trigger, ev, self.stores):
                    self._enter(journey, openid, at)

    def enter_inactive(self, state: FollowerState, now: float) -> None:
        """Followers quiet for a journey's ``days`` enter it (subscribed, once)."""
        for journey in self.journeys:
            if journey.trigger.kind != "inactive":
                continue
            quiet = now - (journey.trigger.days or 0) * DAY
            last = state.last_interaction_at
            rows = (state.subscribed & (last <= quiet)).nonzero()[0]
            for i in rows.tolist():
                self._enter(journey, state.openids[i], now)

    # -- sending -----------------------------------------------------------------------

    def due(self, now: float) -> list[tuple[Journey, int, frozenset[str]]]:
        """The send steps due at ``now``: (journey, step, followers due at it)."""
        out: list[tuple[Journey, int, frozenset[str]]] = []
        for journey in self.journeys:
            by_step: dict[int, set[str]] = {}
            for openid, (step, at) in self.at[journey.id].items():
                if at <= now:
                    by_step.setdefault(step, set()).add(openid)
            out.extend((journey, step, frozenset(who)) for step, who in sorted(by_step.items()))
        return out

    def campaigns(self, state: FollowerState, now: float, limits: PlatformLimits) -> list[Campaign]:
        """The due send steps as campaigns for the planner: per journey step, a
        customer-service message to those whose window is open (free of the mass quotas),
        and a mass send to the others."""
        out: list[Campaign] = []
        reachable = np.zeros(state.n, dtype=np.bool_)
        if limits.customer_service_messages:
            outside, used_up = customer_service_window(state, now, limits)
            reachable = ~outside & ~used_up
        for journey, step, who in self.due(now):
            send = journey.steps[step]
            assert isinstance(send, SendStep)
            open_window = {o for o in who if o in state.index and reachable[state.index[o]]}
            for channel, members in (("customer_service", open_window), ("mass", set(who) - open_window)):
                if members:
                    out.append(Campaign(
                        id=journey.step_campaign_id(step, channel), category=send.category,
                        products=send.products, title=send.title, channel=channel,
                        members=frozenset(members), deadline=now + DAY,
                    ))
        return out

    def decided(self, campaign_id: str, sent: Iterable[str], held: Iterable[str], now: float) -> None:
        """After the plan: the step's recipients and those it held back move on."""
        found = step_of(campaign_id)
        if found is None:
            return
        jid, step = found
        journey = next(j for j in self.journeys if j.id == jid)
        tally = self.tallies[jid]
        for openids, sending in ((sent, True), (held, False)):
            for openid in openids:
                if openid not in self.at[jid]:
                    continue
                tally.sent += sending
                tally.held_back += not sending
                self._move(journey, openid, int(step) + 1, now)


def step_of(campaign_id: str) -> tuple[str, int] | None:
    """(journey id, step) of a step's campaign id; None: not a journey's."""
    jid, sep, rest = campaign_id.rpartition(STEP_SEPARATOR)
    step, _, _channel = rest.partition(".")
    return (jid, int(step)) if sep and step.isdigit() else None
