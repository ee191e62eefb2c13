"""The backtest: the production planner, rules and event folding, day by day on a simulated
clock, against a world that answers deliveries with events.

Each simulated day ``d`` (local Asia/Shanghai dates from the scenario's ``start``):

1. the campaigns active that day (``day <= d < day + days``; ``days`` defaults to 1)
   are planned at the scenario's send hour (10:00 by default) with
   :func:`fencun.engine.planner.plan` on the state folded from every event of the
   days before (a world answers a whole day at once, so the send does not yet know
   that morning's events);
2. the plan's recipients become delivery dicts (``at``: the send moment, +08:00) and are
   folded into the state exactly as production folds its outbox;
3. the world answers with the day's events, which are folded in with
   :meth:`FollowerState.observe` -- the engine learns from nothing else.

Policy ``none`` plans nothing; ``blast``, ``capped`` and ``simple`` are the planner's own
baseline policies (``capped`` and ``simple`` with the scenario's ``capped_weekly_cap``,
default 2 a week). ``oracle`` is the reference the engine is judged against: the planner
deciding on the world's own ``expected()`` (its true expected gain and harm of each
delivery), under the same hard rules as ``fencun``; ``ceiling`` is ``fencun`` deciding on
that truth averaged over its own uplift cells (see the planner). After each ``fencun`` (or
``ceiling``) plan its
randomized controls (holdout and control group) are folded into the state as control
observations, as production stores them beside the recipients.

The result also checks, independently of the planner, that no rule was broken in the
delivery log (consent, platform limits, the weekly cap for ``capped`` and ``simple``, and
for ``fencun`` and ``oracle`` all the merchant's rules) and measures each campaign's lift
against its holdout. When the world offers ``expected()``, a run of any sending policy but
``oracle`` and ``ceiling`` also carries ``references``: the same seed's ``oracle`` and ``none`` runs, and
``vs_oracle``, its revenue and push-caused unfollows (above ``none``'s) as ratios of the
oracle's.
"""

from __future__ import annotations

import importlib
import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from datetime import date, timedelta
from typing import Any

import numpy as np

from fencun.engine import reasons as R
from fencun.engine.catalog import categories_from_scenario
from fencun.engine.clock import DAY, HOUR, iso, local_midnight, local_month_key, to_epoch
from fencun.engine.geo import wgs84_to_gcj02
from fencun.engine.journeys import Journey, JourneyBook, JourneyError, parse_journeys, step_of
from fencun.engine.limits import ACCOUNT_TYPES, load_platform_limits
from fencun.engine.planner import ENGINE_POLICIES, TRUTH_POLICIES, Campaign, Truth, plan
from fencun.engine.rules import MerchantRules
from fencun.engine.segments import SegmentError, check_segment
from fencun.engine.state import ORDER_ATTRIBUTION_DAYS, UNFOLLOW_ATTRIBUTION_HOURS, FollowerState

POLICIES = ("fencun", "blast", "capped", "simple", "oracle", "ceiling", "none")
#: Policies the runner checks against every merchant rule, and against the weekly cap only.
MERCHANT_POLICIES = ("fencun", "oracle", "ceiling")
CAPPED_POLICIES = ("capped", "simple")
#: Figures of a reference run carried in ``references``.
REFERENCE_KEYS = ("sent", "orders", "revenue", "campaign_revenue", "unfollows", "followers_end")


class BacktestError(ValueError):
    """A scenario, world or policy the backtest cannot run; the message says what is wrong."""


@dataclass(frozen=True)
class ScenarioCampaign:
    campaign: Campaign
    day: int
    days: int


@dataclass(frozen=True)
class Scenario:
    raw: Mapping[str, Any]
    account_type: str
    start: date
    stores: list[tuple[float, float]]
    datum: str
    categories: list[Any]
    campaigns: list[ScenarioCampaign]
    rules: MerchantRules
    capped_weekly_cap: int
    send_hour: float
    journeys: list[Journey] = field(default_factory=list)


def parse_scenario(raw: Any) -> Scenario:
    """Validate a scenario dict (DESIGN.md shape plus optional ``account_type``, ``start``,
    ``rules``, ``capped_weekly_cap``, ``send_hour``, per-campaign ``days``, ``channel``)."""
    if not isinstance(raw, Mapping):
        raise BacktestError("scenario: expected a JSON object")
    account_type = raw.get("account_type", "subscription")
    if account_type not in ACCOUNT_TYPES:
        raise BacktestError(
            f"scenario: account_type {account_type!r} is not one of {ACCOUNT_TYPES}"
        )
    try:
        start = date.fromisoformat(str(raw.get("start", "2025-03-03"))[:10])
    except ValueError as exc:
        raise BacktestError(f"scenario: start {raw.get('start')!r} is not a date") from exc
    datum = raw.get("datum", "gcj02")
    if datum not in ("gcj02", "wgs84"):
        raise BacktestError(f"scenario: datum {datum!r} is not gcj02 or wgs84")
    try:
        stores = [(float(s["lat"]), float(s["lng"])) for s in raw.get("stores") or []]
    except (KeyError, TypeError, ValueError) as exc:
        raise BacktestError(f"scenario: each store needs numeric lat and lng ({exc})") from exc
    if datum == "wgs84":

        stores = [wgs84_to_gcj02(lat, lng) for lat, lng in stores]
    try:
        categories = categories_from_scenario(list(raw.get("categories") or []))
    except ValueError as exc:
        raise BacktestError(f"scenario: {exc}") from exc
    if not categories:
        raise BacktestError("scenario: 'categories' must list at least one category")
    rules_raw = raw.get("rules") or {}
    known = {f.name for f in fields(MerchantRules)}
    if not isinstance(rules_raw, Mapping) or set(rules_raw) - known:
        raise BacktestError(
            f"scenario: unknown rules {sorted(set(rules_raw) - known) if isinstance(rules_raw, Mapping) else rules_raw!r}"
        )
    try:
        rules = MerchantRules(**rules_raw)
    except (TypeError, ValueError) as exc:
        raise BacktestError(f"scenario: rules: {exc}") from exc
    cat_ids = {c.id for c in categories}
    campaigns: list[ScenarioCampaign] = []
    seen: set[str] = set()
    items = raw.get("campaigns")
    if not isinstance(items, list):
        raise BacktestError("scenario: 'campaigns' must be a list")
    for n, item in enumerate(items):
        where = f"scenario: campaigns[{n}]"
        if not isinstance(item, Mapping):
            raise BacktestError(f"{where}: expected an object")
        try:
            c = Campaign.from_dict(item)
        except (KeyError, TypeError, ValueError) as exc:
            raise BacktestError(f"{where}: {exc!r}") from exc
        if c.id in seen:
            raise BacktestError(f"{where}: duplicate id {c.id!r}")
        seen.add(c.id)
        if c.category not in cat_ids:
            raise BacktestError(f"{where}: unknown category {c.category!r}")
        day, days = item.get("day"), item.get("days", 1)
        if not isinstance(day, int) or day < 0 or not isinstance(days, int) or days < 1:
            raise BacktestError(f"{where}: 'day' must be an integer >= 0 and 'days' >= 1")
        if c.segment is not None:
            if not isinstance(c.segment, str):
                raise BacktestError(f"{where}: segment must be filter text or null")
            try:
                check_segment(c.segment, categories)
            except SegmentError as exc:
                raise BacktestError(f"{where}: segment: {exc}") from exc
        campaigns.append(ScenarioCampaign(c, day, days))
    cap = raw.get("capped_weekly_cap", 2)
    hour = raw.get("send_hour", 10)
    if not isinstance(cap, int) or cap < 0:
        raise BacktestError("scenario: capped_weekly_cap must be an integer >= 0")
    if not isinstance(hour, int | float) or not 0 <= hour < 24:
        raise BacktestError("scenario: send_hour must be in [0, 24)")
    try:
        journeys = parse_journeys(raw.get("journeys"), categories)
    except JourneyError as exc:
        raise BacktestError(f"scenario: {exc}") from exc
    if {j.id for j in journeys} & seen:
        raise BacktestError("scenario: a journey and a campaign share an id")
    return Scenario(
        raw, account_type, start, stores, datum, categories, campaigns, rules, cap, float(hour), journeys
    )


def load_world_factory(spec: str) -> Callable[[Mapping[str, Any]], Any]:
    """``MODULE:FACTORY`` -> the factory; BacktestError with the reason otherwise."""
    module_name, sep, attr = spec.partition(":")
    if not sep or not module_name or not attr:
        raise BacktestError(
            f"world {spec!r}: expected MODULE:FACTORY, e.g. fencun.worlds.furniture:world"
        )
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise BacktestError(f"world {spec!r}: cannot import {module_name!r} ({exc})") from exc
    factory = getattr(module, attr, None)
    if not callable(factory):
        raise BacktestError(f"world {spec!r}: {module_name} has no callable {attr!r}")
    return factory


def make_world(
    factory: Callable[[Mapping[str, Any]], Any], scenario: Scenario, spec: str = ""
) -> Any:
    try:
        world = factory(dict(scenario.raw))
    except Exception as exc:  # a plug-in's own error, reported as the world's fault
        raise BacktestError(f"world {spec!r} refused the scenario: {exc}") from exc
    for method in ("start", "day"):
        if not callable(getattr(world, method, None)):
            raise BacktestError(f"world {spec!r}: the factory's result has no {method}() method")
    return world


@dataclass
class CampaignTally:
    sent: int = 0
    holdout: set[str] = field(default_factory=set)
    recipients: set[str] = field(default_factory=set)
    first_at: float = math.inf
    last_at: float = -math.inf
    reads: int = 0
    link_clicks: int = 0
    orders: int = 0
    revenue: float = 0.0
    unfollows_48h: int = 0
    held_back: dict[str, int] = field(default_factory=dict)
    converted_sent: set[str] = field(default_factory=set)
    converted_holdout: set[str] = field(default_factory=set)


def has_expected(world: Any) -> bool:
    """Whether a world offers its truth, ``expected(openid, delivery)``."""
    return callable(getattr(world, "expected", None))


def world_truth(world: Any, state: FollowerState) -> Callable[[float], Truth]:
    """``truth_at(send_at)`` -> the planner's ``truth(campaign, rows)`` for that send moment,
    asking the world's ``expected_many(openids, delivery)`` when it has one (one call per
    campaign) and ``expected(openid, delivery)`` per row otherwise."""
    many = getattr(world, "expected_many", None)

    def truth_at(at: float) -> Truth:
        def truth(c: Campaign, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            delivery = _delivery(c, at)
            openids = [state.openids[i] for i in rows.tolist()]
            if callable(many):
                out = many(openids, delivery)
                gain = np.asarray(out["gain_yuan"], dtype=np.float64)
                harm = np.asarray(out["harm_yuan"], dtype=np.float64)
            else:
                gain, harm = np.zeros(rows.size), np.zeros(rows.size)
                for j, openid in enumerate(openids):
                    e = world.expected(openid, {**delivery, "openid": openid})
                    gain[j], harm[j] = float(e["gain_yuan"]), float(e["harm_yuan"])
            if gain.shape != rows.shape or harm.shape != rows.shape:
                raise BacktestError(
                    f"world: expected gave {gain.shape[0]} values for {rows.size} followers"
                )
            return gain, harm

        return truth

    return truth_at


def _delivery(c: Campaign, at: float) -> dict[str, Any]:
    """The delivery dict (without ``openid``) a send of ``c`` at ``at`` would be."""
    return {
        "campaign": c.id,
        "at": iso(at),
        "title": c.title,
        "category": c.category,
        "products": [{"id": p.id, "price": p.price} for p in c.products],
        "channel": c.channel,
    }


def _check_events(events: Any, where: str) -> list[Mapping[str, Any]]:
    if not isinstance(events, list):
        raise BacktestError(
            f"world: {where} must return a list of event dicts, not {type(events).__name__}"
        )
    return events


def run_backtest(
    scenario_raw: Mapping[str, Any],
    world_spec: str | Callable[[Mapping[str, Any]], Any],
    policy: str,
    days: int = 90,
    seed: int = 0,
    progress: Callable[[int, int], None] | None = None,
    references: bool = True,
) -> dict[str, Any]:
    """Run one backtest and return the JSON-ready result (see module docstring).

    ``references=False`` skips the ``oracle`` and ``none`` runs a world with ``expected()``
    otherwise adds to the result."""
    if policy not in POLICIES:
        raise BacktestError(f"policy {policy!r}: one of {', '.join(POLICIES)}")
    if not isinstance(days, int) or days < 1:
        raise BacktestError("days must be a positive integer")
    sc = parse_scenario(scenario_raw)
    if isinstance(world_spec, str):
        spec, factory = world_spec, load_world_factory(world_spec)
    else:
        spec, factory = getattr(world_spec, "__qualname__", "world"), world_spec
    world = make_world(factory, sc, spec)
    if policy in TRUTH_POLICIES and not has_expected(world):
        raise BacktestError(
            f"policy {policy!r} needs the world's truth: world {spec!r} has no expected() method"
        )
    t_start = time.perf_counter()
    rules = sc.rules
    if policy in CAPPED_POLICIES:
        rules = replace(rules, weekly_cap=sc.capped_weekly_cap)
    limits = load_platform_limits(sc.account_type)
    state = FollowerState(sc.categories, sc.stores, datum=sc.datum)
    cat_index = {c.id: i for i, c in enumerate(sc.categories)}
    for item in sc.campaigns:
        c = item.campaign
        state.register_campaign(
            c.id, c.category, [{"id": p.id, "price": p.price} for p in c.products]
        )
    for journey in sc.journeys:
        for i, send in journey.sends:
            listed = [{"id": p.id, "price": p.price} for p in send.products]
            for channel in ("customer_service", "mass"):
                state.register_campaign(journey.step_campaign_id(i, channel), send.category, listed)
        # The world tags a journey's reads and orders with the journey's id.
        state.register_campaign(journey.id, journey.sends[0][1].category)
    book = JourneyBook(sc.journeys, stores=list(sc.stores)) if sc.journeys else None
    journey_money = {j.id: [0, 0.0] for j in sc.journeys}  # orders, revenue
    product_cat = dict(state.product_category)
    truth_at = world_truth(world, state) if policy in TRUTH_POLICIES else None
    tallies = {item.campaign.id: CampaignTally() for item in sc.campaigns}
    by_category: dict[int, list[str]] = {}
    for item in sc.campaigns:
        by_category.setdefault(cat_index[item.campaign.category], []).append(item.campaign.id)

    t0 = local_midnight(sc.start)
    events = _check_events(world.start(seed), "start(seed)")
    state.observe(events, now=t0)
    followers_start = int(state.subscribed.sum())
    totals = {"orders": 0, "revenue": 0.0, "unfollows": 0, "subscribes": 0, "events": len(events)}
    campaign_orders = 0
    campaign_revenue = 0.0
    sends_log: dict[str, list[tuple[float, str, int]]] = {}  # openid -> [(at, campaign, cat)]
    mass_days: dict[int, set[str]] = {}
    consent_violations = 0
    last_sent_at: dict[str, float] = {}
    for d in range(days):
        today = sc.start + timedelta(days=d)
        send_at = local_midnight(today) + sc.send_hour * HOUR
        active = [
            replace(
                item.campaign,
                deadline=local_midnight(sc.start + timedelta(days=item.day + item.days)),
            )
            for item in sc.campaigns
            if item.day <= d < item.day + item.days
        ]
        deliveries: list[dict[str, Any]] = []
        if book is not None and policy != "none":
            book.enter_inactive(state, send_at)
            active += book.campaigns(state, send_at, limits)
        if policy != "none" and active:
            p = plan(
                state,
                active,
                send_at,
                account_type=sc.account_type,
                rules=rules,
                policy=policy,
                seed=seed * 100_003 + d,
                truth=truth_at(send_at) if truth_at is not None else None,
            )
            deliveries = p.deliveries()
            unsubscribed = ~state.subscribed
            for j, c in enumerate(p.campaigns):
                row = p.codes[j]
                sent_rows = np.flatnonzero(row == 0)
                consent_violations += int(unsubscribed[sent_rows].sum())
                if book is not None and step_of(c.id) is not None:
                    _journey_step(book, state, c, row, sent_rows, send_at)
                    if sent_rows.size and c.channel == "mass":
                        mass_days.setdefault(d, set()).add(c.id)
                    continue
                t = tallies[c.id]
                if sent_rows.size:
                    t.sent += int(sent_rows.size)
                    t.first_at = min(t.first_at, send_at)
                    t.last_at = send_at
                    t.recipients.update(p.openids[i] for i in sent_rows.tolist())
                    if c.channel == "mass":
                        mass_days.setdefault(d, set()).add(c.id)
                    state.record_plan_deliveries(sent_rows, c.id, send_at, c.channel)
                hold = np.flatnonzero(row == R.CODE_INDEX[R.HOLDOUT])
                t.holdout.update(p.openids[i] for i in hold.tolist())
                counts = np.bincount(row, minlength=len(R.CODES))
                t.held_back = {
                    code: int(counts[i]) for i, code in enumerate(R.CODES) if i and counts[i]
                }
            if policy in ENGINE_POLICIES:
                # The randomized controls, stored beside the recipients as production does.
                state.record_deliveries(p.controls())
            for dv in deliveries:
                sends_log.setdefault(dv["openid"], []).append(
                    (send_at, dv["campaign"], cat_index[dv["category"]])
                )
                last_sent_at[dv["openid"]] = send_at
                step = step_of(dv["campaign"])
                if step is not None:  # the world knows a journey's sends by the journey's id
                    dv["campaign"] = step[0]
        events = _check_events(world.day(today, deliveries), f"day({today.isoformat()})")
        totals["events"] += len(events)
        for ev in events:
            kind = ev.get("kind")
            openid = ev.get("openid")
            if kind == "order":
                amount = float(ev.get("amount") or 0.0)
                totals["orders"] += 1
                totals["revenue"] += amount
                cid = ev.get("campaign")
                if cid in tallies:
                    t = tallies[cid]
                    t.orders += 1
                    t.revenue += amount
                    campaign_orders += 1
                    campaign_revenue += amount
                elif cid in journey_money:
                    journey_money[cid][0] += 1
                    journey_money[cid][1] += amount
                cat = product_cat.get(str(ev.get("product")))
                if cat is not None:
                    ts = to_epoch(ev["at"])
                    for cid2 in by_category.get(cat, ()):
                        t2 = tallies[cid2]
                        if t2.first_at <= ts <= t2.last_at + ORDER_ATTRIBUTION_DAYS * DAY:
                            if openid in t2.recipients:
                                t2.converted_sent.add(openid)
                            elif openid in t2.holdout:
                                t2.converted_holdout.add(openid)
            elif kind == "unsubscribe":
                totals["unfollows"] += 1
                ts = to_epoch(ev["at"])
                for at, cid, _ in reversed(sends_log.get(openid, []) if openid is not None else []):
                    if 0 <= ts - at <= UNFOLLOW_ATTRIBUTION_HOURS * HOUR:
                        if cid in tallies:
                            tallies[cid].unfollows_48h += 1
                        break
            elif kind == "subscribe":
                totals["subscribes"] += 1
            elif kind in ("read", "link_click"):
                cid = ev.get("campaign")
                if cid in tallies:
                    if kind == "read":
                        tallies[cid].reads += 1
                    else:
                        tallies[cid].link_clicks += 1
        if book is not None:
            book.observe(events)
        state.observe(events, now=local_midnight(today + timedelta(days=1)))
        if progress is not None:
            progress(d + 1, days)

    violations = _violations(sends_log, mass_days, sc, rules, limits, policy)
    violations["consent"] = consent_violations
    sent_total = sum(t.sent for t in tallies.values())
    per_campaign = []
    for item in sc.campaigns:
        t = tallies[item.campaign.id]
        per_campaign.append(
            {
                "id": item.campaign.id,
                "category": item.campaign.category,
                "urgent": item.campaign.urgent,
                "sent": t.sent,
                "reads": t.reads,
                "link_clicks": t.link_clicks,
                "orders": t.orders,
                "revenue": round(t.revenue, 2),
                "unfollows_48h": t.unfollows_48h,
                "held_back": t.held_back,
                "lift": _lift(t),
            }
        )
    reasons: dict[str, int] = {}
    for t in tallies.values():
        for code, count in t.held_back.items():
            reasons[code] = reasons.get(code, 0) + count
    result = {
        "world": spec,
        "scenario": sc.raw.get("name"),
        "account_type": sc.account_type,
        "policy": policy,
        "days": days,
        "seed": seed,
        "sent": sent_total,
        "orders": totals["orders"],
        "revenue": round(totals["revenue"], 2),
        "campaign_orders": campaign_orders,
        "campaign_revenue": round(campaign_revenue, 2),
        "unfollows": totals["unfollows"],
        "subscribes": totals["subscribes"],
        "followers_start": followers_start,
        "followers_end": int(state.subscribed.sum()),
        "events": totals["events"],
        "violations": violations,
        "held_back_final": reasons,
        "campaigns": per_campaign,
        "seconds": round(time.perf_counter() - t_start, 2),
    }
    if book is not None:
        result["journeys"] = {
            jid: {
                "entered": tally.entered,
                "sent": tally.sent,
                "held_back": tally.held_back,
                "converted": tally.converted,
                "orders": journey_money[jid][0],
                "revenue": round(journey_money[jid][1], 2),
            }
            for jid, tally in book.tallies.items()
        }
    if references and policy not in ("oracle", "ceiling", "none") and has_expected(world):
        refs = {
            ref: run_backtest(scenario_raw, world_spec, ref, days, seed, references=False)
            for ref in ("oracle", "none")
        }
        result["references"] = {
            ref: {key: out[key] for key in REFERENCE_KEYS} for ref, out in refs.items()
        }
        result["vs_oracle"] = vs_oracle(result, refs["oracle"], refs["none"])
    return result


def vs_oracle(
    run: Mapping[str, Any], oracle: Mapping[str, Any], none: Mapping[str, Any]
) -> dict[str, float | None]:
    """A run's revenue over the oracle's, and its push-caused unfollows (unfollows above the
    same seed's ``none`` run) over the oracle's; a ratio is None when the oracle's figure is
    not positive."""

    def ratio(a: float, b: float) -> float | None:
        return round(a / b, 4) if b > 0 else None

    return {
        "revenue_ratio": ratio(float(run["revenue"]), float(oracle["revenue"])),
        "push_unfollows_ratio": ratio(
            float(run["unfollows"] - none["unfollows"]),
            float(oracle["unfollows"] - none["unfollows"]),
        ),
    }


def _lift(t: CampaignTally) -> dict[str, Any] | None:
    """Order rate of recipients minus holdout within the attribution window, with a 95 % CI."""
    n1, n0 = len(t.recipients), len(t.holdout)
    if n1 == 0 or n0 == 0:
        return None
    p1, p0 = len(t.converted_sent) / n1, len(t.converted_holdout) / n0
    se = math.sqrt(p1 * (1 - p1) / n1 + p0 * (1 - p0) / n0)
    return {
        "sent_rate": round(p1, 5),
        "holdout_rate": round(p0, 5),
        "holdout": n0,
        "lift": round(p1 - p0, 5),
        "ci95": [round(p1 - p0 - 1.96 * se, 5), round(p1 - p0 + 1.96 * se, 5)],
    }


def _journey_step(
    book: JourneyBook, state: FollowerState, c: Campaign, row: np.ndarray, sent_rows: np.ndarray, at: float
) -> None:
    """A journey step's decision: its recipients enter the state as any send's do, and
    every follower due at it moves on (held back: the step is skipped)."""
    members = c.members or frozenset()
    rows = np.asarray([state.index[o] for o in members if o in state.index], dtype=np.int64)
    held = rows[row[rows] != 0]
    if sent_rows.size:
        state.record_plan_deliveries(sent_rows, c.id, at, c.channel)
    book.decided(c.id, (state.openids[i] for i in sent_rows.tolist()), (state.openids[i] for i in held.tolist()), at)


def _violations(
    sends_log: Mapping[str, Sequence[tuple[float, str, int]]],
    mass_days: Mapping[int, set[str]],
    sc: Scenario,
    rules: MerchantRules,
    limits: Any,
    policy: str,
) -> dict[str, int]:
    """Count broken rules in the delivery log, checked from scratch (not with the planner's code)."""

    out = {
        "platform_daily": 0,
        "platform_monthly": 0,
        "quiet_hours": 0,
        "weekly_cap": 0,
        "min_gap": 0,
        "category_cooldown": 0,
        "duplicate": 0,
    }
    if limits.mass_sends_per_day_account is not None:
        out["platform_daily"] = sum(
            max(0, len(v) - limits.mass_sends_per_day_account) for v in mass_days.values()
        )
    merchant = policy in MERCHANT_POLICIES
    weekly = merchant or policy in CAPPED_POLICIES
    for sends in sends_log.values():
        times = [s[0] for s in sends]
        if len({s[1] for s in sends}) != len(sends):
            out["duplicate"] += 1
        if limits.mass_sends_per_month_per_follower is not None:
            months: dict[int, int] = {}
            for at in times:
                key = local_month_key(at)
                months[key] = months.get(key, 0) + 1
            out["platform_monthly"] += sum(
                max(0, n - limits.mass_sends_per_month_per_follower) for n in months.values()
            )
        for idx, (at, _cid, cat) in enumerate(sends):
            if weekly and sum(1 for t in times[: idx + 1] if at - t < 7 * DAY) > rules.weekly_cap:
                out["weekly_cap"] += 1
            if not merchant:
                continue
            if rules.in_quiet_hours(at):
                out["quiet_hours"] += 1
            if idx and at - times[idx - 1] < rules.min_gap_hours * HOUR:
                out["min_gap"] += 1
            if any(
                c == cat and at - t < rules.category_cooldown_days * DAY for t, _, c in sends[:idx]
            ):
                out["category_cooldown"] += 1
    return out
