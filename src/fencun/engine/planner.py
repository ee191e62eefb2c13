"""The planner: who gets which campaign now, who is held back and why, and what it predicts.

``plan(state, campaigns, now, ...)`` is one planning run at one send time. It returns a
:class:`Plan`: a reason code per (campaign, follower) -- ``sent`` or exactly one reason
from :mod:`fencun.engine.reasons` -- per-campaign summaries of the reasons, and predicted
orders, revenue and unfollows for the plan and for sending to everyone in the segment.

Order of work, all vectorised over followers:

1. hard rules per campaign, first failing rule wins the reason: consent (following, and
   not opted out), already sent,
   segment, platform limits (account type), the 48 h window for customer-service
   messages, quiet hours, weekly cap, minimum gap, category cooldown;
2. the account's control group (``fencun`` only): no marketing push, ``control_group``;
3. estimates and the one economic decision (``fencun`` only): the push's incremental
   revenue, drawn from its posterior (Thompson sampling: the mean plus the value of what
   trying teaches), against its expected harm (incremental unfollow probability x the
   follower's value, plus the attention taken from later pushes). Not worth it: the reason
   says why the estimate is low -- ``low_relevance`` (no sign of interest), ``no_lift``
   (interested, but pushes add nothing: they would buy anyway, or buy less when pushed)
   or ``harm_exceeds_value``;
4. holdout: followers the decision would send, but who fall in the campaign's
   reproducible random holdout (hash of campaign id and openid), are kept back;
5. assignment: at most one campaign per follower per run, urgent campaigns first, then
   the highest net value; a subscription account makes one mass send a day, the same
   message to everyone it reaches, so it picks the single campaign worth most.

The assignment is the only step that looks beyond each follower's own row (besides the
account's pooled statistics and means, :class:`~fencun.engine.estimates.AccountSums`):
:func:`plan` is :func:`draft` (steps 1-4 and each open row's net value), then
:func:`choose_mass_campaign` on the draft's per-campaign totals, :meth:`PlanDraft.assign`
and :meth:`PlanDraft.finish`. An account split into shards runs the same steps shard by
shard and adds the shards' totals and summaries in between (:mod:`fencun.engine.shards`).

Policies: ``fencun`` (all of the above), ``blast`` (every campaign to its whole segment
within platform limits only), ``capped`` (blast plus the merchant's weekly cap),
``simple`` (followers who have shown interest in the campaign's category plus a random 10 %
of those with no evidence yet, under the weekly cap) and ``oracle`` (a reference for
backtests: the world's true expected gain against its true harm, under the same hard
rules as ``fencun``, with no holdout or control group) and ``ceiling`` (a reference for
backtests: ``fencun`` itself, learning and exploring as it does, but deciding on the
world's true expected gain and harm averaged over each of its uplift cells -- what a
perfectly calibrated estimate could do with what the engine sees of a follower; the gap
from ``ceiling`` to ``oracle`` is what no estimate on those features can close).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from typing import Any

import numpy as np

from fencun.engine import reasons as R
from fencun.engine.clock import DAY, HOUR, iso, local_day_number, to_epoch
from fencun.engine.estimates import (
    Z90,
    AccountSums,
    CampaignEstimate,
    ContextBasis,
    PlanContext,
    estimate_campaign,
    plan_context,
)
from fencun.engine.limits import PlatformLimits, load_platform_limits, load_wecom_limits
from fencun.engine.rules import MerchantRules
from fencun.engine.segments import evaluate_segment
from fencun.engine.state import N_CELLS, FollowerState

POLICIES = ("fencun", "blast", "capped", "simple", "oracle", "ceiling")
#: Policies bound by all the merchant's rules (quiet hours, gaps, cooldowns, weekly cap).
MERCHANT_POLICIES = ("fencun", "oracle", "ceiling")
#: Policies that plan as the engine does (control group, holdouts, exploration).
ENGINE_POLICIES = ("fencun", "ceiling")
#: Policies that need a world's truth.
TRUTH_POLICIES = ("oracle", "ceiling")
#: Policies bound by the weekly cap only, besides the platform's limits.
CAPPED_POLICIES = ("capped", "simple")
SIMPLE_EXPLORE = 0.1  # share of followers with no evidence yet that ``simple`` also sends
#: ``truth(campaign, rows) -> (gain_yuan, harm_yuan)`` per state row: a world's true
#: expected incremental revenue and harm of sending ``campaign`` now (``TRUTH_POLICIES``).
Truth = Callable[["Campaign", np.ndarray], tuple[np.ndarray, np.ndarray]]
#: ``mass`` and ``customer_service`` are the Official Account's; ``wecom`` is a WeCom
#: mass message to external contacts (the member confirms it in WeCom).
CHANNELS = ("mass", "customer_service", "wecom")
_URGENT_BONUS = 1e12  # float64 scores: a float32 would round nets away beside it


@dataclass(frozen=True)
class Product:
    id: str
    price: float  # yuan


@dataclass(frozen=True)
class Campaign:
    """A campaign competing for followers' attention. ``segment`` is filter-language text."""

    id: str
    category: str
    products: tuple[Product, ...] = ()
    title: str = ""
    urgent: bool = False
    segment: str | None = None
    channel: str = "mass"
    deadline: float | None = None  # epoch seconds; no sends after it
    #: Only these followers (openids), on top of the segment: a journey's step goes to
    #: those due at it. None: everyone the segment selects.
    members: frozenset[str] | None = None

    def __post_init__(self) -> None:
        if self.channel not in CHANNELS:
            raise ValueError(
                f"channel {self.channel!r}: one of {CHANNELS} (template messages may not carry marketing)"
            )

    @property
    def list_price(self) -> float:
        """Mean price of the campaign's products, yuan (0 if it has none)."""
        return float(np.mean([p.price for p in self.products])) if self.products else 0.0

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Campaign:
        products = tuple(Product(str(p["id"]), float(p["price"])) for p in d.get("products") or ())
        deadline = d.get("deadline")
        return cls(
            id=str(d["id"]),
            category=str(d["category"]),
            products=products,
            title=str(d.get("title") or ""),
            urgent=bool(d.get("urgent", False)),
            segment=d.get("segment"),
            channel=str(d.get("channel") or "mass"),
            deadline=None if deadline is None else to_epoch(deadline),
        )


@dataclass
class Prediction:
    """What sending to ``reach`` followers is expected to add, against not sending: uplift
    estimates learned from randomized contrasts, each with a 90 % interval."""

    reach: int = 0
    orders: float = 0.0  # incremental orders
    revenue: float = 0.0  # incremental revenue, yuan
    unfollows: float = 0.0  # caused by the push (incremental)
    orders_ci: tuple[float, float] = (0.0, 0.0)
    revenue_ci: tuple[float, float] = (0.0, 0.0)
    unfollows_ci: tuple[float, float] = (0.0, 0.0)


@dataclass
class CampaignSummary:
    campaign_id: str
    audience: int  # rows considered (= sent + sum of held_back)
    sent: int
    held_back: dict[str, int]
    predicted: Prediction
    send_to_all: Prediction
    delivery_method: str  # openid_list | tag | customer_service | wecom_mass | none
    batches: int


@dataclass
class MaskSums:
    """Sums over a set of followers that a :class:`Prediction` is made of; ``+`` adds two
    disjoint sets (two shards' followers)."""

    reach: int
    orders: float  # posterior mean incremental orders, summed
    revenue: float  # posterior mean incremental revenue, summed, yuan
    unfollows: float  # incremental unfollow probabilities, summed
    cells: np.ndarray  # (N_CELLS,) followers per uplift cell: they share its uncertainty

    def __add__(self, other: MaskSums) -> MaskSums:
        return MaskSums(
            reach=self.reach + other.reach,
            orders=self.orders + other.orders,
            revenue=self.revenue + other.revenue,
            unfollows=self.unfollows + other.unfollows,
            cells=self.cells + other.cells,
        )


@dataclass
class SummaryParts:
    """A campaign's :class:`CampaignSummary` as sums over followers, so that the shards of
    an account add theirs (``+``) and :func:`campaign_summary` makes the account's.

    ``reasons``: followers per reason code (``sent`` first); ``sent``: the recipients;
    ``everyone``: whom sending to all in the segment would reach. The posterior variances
    per uplift cell and ``unfollows_seen`` (the pooled deliveries and follower-days behind
    the unfollow rates) come from the account's pooled statistics, the same in every shard.
    """

    campaign_id: str
    reasons: np.ndarray  # (len(CODES),) int64
    sent: MaskSums
    everyone: MaskSums
    orders_var: np.ndarray  # (N_CELLS,) incremental orders of a push, per cell
    revenue_var: np.ndarray  # (N_CELLS,) yuan^2
    unfollows_seen: float

    def __add__(self, other: SummaryParts) -> SummaryParts:
        if other.campaign_id != self.campaign_id:
            raise ValueError(f"summaries of {self.campaign_id} and {other.campaign_id}")
        return replace(
            self,
            reasons=self.reasons + other.reasons,
            sent=self.sent + other.sent,
            everyone=self.everyone + other.everyone,
        )


@dataclass
class Plan:
    """The outcome of one planning run. ``codes[j, i]`` indexes :data:`reasons.CODES`."""

    at: float
    policy: str
    account_type: str
    campaigns: tuple[Campaign, ...]
    codes: np.ndarray
    openids: list[str]
    summaries: list[CampaignSummary]
    follower_value_yuan: float
    estimates: dict[str, CampaignEstimate] = field(default_factory=dict, repr=False)
    #: ``(k, n)``: members of the control group whom the decision would have sent, had
    #: they not been in it (``None``: every member who passed the hard rules).
    tested: np.ndarray | None = field(default=None, repr=False)
    #: ``summaries`` as sums over followers (what a shard reports to its account).
    summary_parts: list[SummaryParts] = field(default_factory=list, repr=False)

    def _j(self, campaign_id: str) -> int:
        for j, c in enumerate(self.campaigns):
            if c.id == campaign_id:
                return j
        raise KeyError(campaign_id)

    def recipients(self, campaign_id: str) -> np.ndarray:
        """State rows sent ``campaign_id``."""
        return np.flatnonzero(self.codes[self._j(campaign_id)] == 0)

    def recipient_openids(self, campaign_id: str) -> list[str]:
        return [self.openids[i] for i in self.recipients(campaign_id)]

    def holdout_openids(self, campaign_id: str) -> list[str]:
        """Followers kept back as the campaign's holdout (sent otherwise)."""
        rows = np.flatnonzero(self.codes[self._j(campaign_id)] == R.CODE_INDEX[R.HOLDOUT])
        return [self.openids[i] for i in rows]

    def control_rows(self, campaign_id: str) -> np.ndarray:
        """State rows that are this campaign's randomized controls: its holdout and the
        members of the account's control group whom the decision would have sent. Kept
        back by chance alone from the same choice as the recipients, they are what the
        engine compares the recipients with to learn the uplift."""
        j = self._j(campaign_id)
        row = self.codes[j]
        group = row == R.CODE_INDEX[R.CONTROL_GROUP]
        if self.tested is not None:
            group &= self.tested[j]
        return np.flatnonzero((row == R.CODE_INDEX[R.HOLDOUT]) | group)

    def control_openids(self, campaign_id: str) -> list[str]:
        """Openids of :meth:`control_rows`: what production stores beside the recipients."""
        return [self.openids[i] for i in self.control_rows(campaign_id).tolist()]

    def controls(self) -> list[dict[str, Any]]:
        """Control observations to fold with :meth:`FollowerState.record_deliveries` once
        the plan is sent: delivery dicts marked ``"control": True`` (nothing is sent)."""
        at = iso(self.at)
        return [
            {"openid": self.openids[i], "campaign": c.id, "at": at, "category": c.category,
             "channel": c.channel, "control": True}
            for c in self.campaigns
            for i in self.control_rows(c.id).tolist()
        ]

    def reason(self, campaign_id: str, openid: str) -> str:
        """``sent`` or the reason the follower was held back."""
        return R.CODES[int(self.codes[self._j(campaign_id), self.openids.index(openid)])]

    def reasons(self, campaign_id: str) -> list[str]:
        """The reason code of every row, in state order."""
        codes = R.CODES
        return [codes[c] for c in self.codes[self._j(campaign_id)].tolist()]

    def deliveries(self) -> list[dict[str, Any]]:
        """Delivery dicts (DESIGN.md) for everything this plan sends, ``at`` in +08:00."""
        at = iso(self.at)
        out: list[dict[str, Any]] = []
        for c in self.campaigns:
            products = [{"id": p.id, "price": p.price} for p in c.products]
            for i in self.recipients(c.id).tolist():
                out.append(
                    {
                        "openid": self.openids[i],
                        "campaign": c.id,
                        "at": at,
                        "title": c.title,
                        "category": c.category,
                        "products": products,
                        "channel": c.channel,
                    }
                )
        return out

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready summary: what a dry-run screen shows."""
        return {
            "at": iso(self.at),
            "policy": self.policy,
            "account_type": self.account_type,
            "follower_value_yuan": round(self.follower_value_yuan, 2),
            "campaigns": [asdict(s) for s in self.summaries],
        }


def _splitmix64(x: np.ndarray) -> np.ndarray:
    x = x + np.uint64(0x9E3779B97F4A7C15)
    x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return x ^ (x >> np.uint64(31))  # type: ignore[no-any-return]  # numpy types ^ as Any


def _hash_uniform(hashes: np.ndarray, salt_text: str) -> np.ndarray:
    """A reproducible uniform number in [0, 1) per openid hash, independent per salt."""
    salt = int.from_bytes(
        hashlib.blake2b(salt_text.encode("utf-8"), digest_size=8).digest(), "little"
    )
    with np.errstate(over="ignore"):
        h = _splitmix64(hashes ^ np.uint64(salt))
    return (h >> np.uint64(11)).astype(np.float64) * (1.0 / 2**53)


def _hashed_below(hashes: np.ndarray, salt_text: str, fraction: float) -> np.ndarray:
    if fraction <= 0:
        return np.zeros(hashes.size, dtype=np.bool_)
    return _hash_uniform(hashes, salt_text) < fraction


def holdout_mask(state: FollowerState, campaign_id: str, fraction: float) -> np.ndarray:
    """Reproducible holdout membership per row: a hash of (campaign id, openid) below ``fraction``.

    Depends on nothing else, so it is stable under re-planning and across processes.
    """
    return _hashed_below(state.openid_hash, campaign_id, fraction)


#: The control group's salt: membership is a property of the follower alone.
CONTROL_SALT = "fencun:control-group"


def control_mask(state: FollowerState, fraction: float) -> np.ndarray:
    """The account's long-run control group: followers whose openid hashes below ``fraction``.

    Stable per follower for as long as the fraction stays; raising it only adds members."""
    return control_members(state.openid_hash, fraction)


def control_members(openid_hashes: np.ndarray, fraction: float) -> np.ndarray:
    """:func:`control_mask` for openid hashes (:func:`fencun.engine.state.openid_hash`)
    without a follower state: what insights reads the control group with."""
    return _hashed_below(np.asarray(openid_hashes, dtype=np.uint64), CONTROL_SALT, fraction)


def _mark(codes: np.ndarray, mask: np.ndarray, reason: str) -> None:
    """Give ``reason`` to rows in ``mask`` that have no reason yet (first rule wins)."""
    codes[mask & (codes == 0)] = R.CODE_INDEX[reason]


def _hard_rules(
    state: FollowerState,
    campaign: Campaign,
    now: float,
    rules: MerchantRules,
    limits: PlatformLimits,
    policy: str,
    codes: np.ndarray,
    cache: dict[str, Any],
) -> None:
    """Fill ``codes`` (one campaign's row) with the first hard rule each follower fails."""
    n = state.n
    if campaign.channel == "wecom":
        # Consent on WeCom is being the merchant's contact, whether or not they follow.
        _mark(codes, ~state.wecom_contact, R.NOT_A_CONTACT)
    else:
        _mark(codes, ~state.subscribed, R.UNSUBSCRIBED)
    # A follower's refusal holds on every channel (consent.py).
    _mark(codes, state.opted_out, R.OPTED_OUT)
    _mark(codes, state.received_mask(campaign.id), R.ALREADY_SENT)
    audience = audience_mask(campaign, state, now)
    if audience is not None:
        _mark(codes, ~audience, R.SEGMENT)
    if campaign.channel == "wecom":
        if "wecom_day" not in cache:
            cache["wecom_day"] = state.wecom_day == local_day_number(now)
        # WeCom's per-customer daily cap on mass messages (wecom_limits.json: 1).
        _mark(codes, cache["wecom_day"], R.PLATFORM_LIMIT)
    elif campaign.channel == "mass":
        per_day = limits.mass_sends_per_day_account
        if per_day is not None and state.mass_sends_on_day(now) >= per_day:
            _mark(codes, np.ones(n, dtype=np.bool_), R.PLATFORM_LIMIT)
        per_month = limits.mass_sends_per_month_per_follower
        if per_month is not None:
            if "month" not in cache:
                cache["month"] = state.month_count_at(now)
            _mark(codes, cache["month"] >= per_month, R.PLATFORM_LIMIT)
    else:
        if not limits.customer_service_messages:
            _mark(codes, np.ones(n, dtype=np.bool_), R.PLATFORM_LIMIT)
        outside, used_up = customer_service_window(state, now, limits)
        _mark(codes, outside, R.OUTSIDE_WINDOW)
        _mark(codes, used_up, R.PLATFORM_LIMIT)
    if policy in MERCHANT_POLICIES and rules.in_quiet_hours(now):
        _mark(codes, np.ones(n, dtype=np.bool_), R.QUIET_HOURS)
    if policy in MERCHANT_POLICIES or policy in CAPPED_POLICIES:
        if "week" not in cache:
            cache["week"] = state.pushes_within(now, 7 * DAY)
        _mark(codes, cache["week"] >= rules.weekly_cap, R.WEEKLY_CAP)
    if policy in MERCHANT_POLICIES:
        with np.errstate(invalid="ignore"):
            _mark(codes, now - state.last_push_at < rules.min_gap_hours * HOUR, R.MIN_GAP)
            c = state.category_index[campaign.category]
            _mark(
                codes,
                now - state.cat_last_push[:, c] < rules.category_cooldown_days * DAY,
                R.CATEGORY_COOLDOWN,
            )


def customer_service_window(
    state: FollowerState, now: float, limits: PlatformLimits
) -> tuple[np.ndarray, np.ndarray]:
    """Followers a customer-service message cannot reach now: (outside their window -- no
    message of theirs within it --, their window's messages used up)."""
    age = now - state.last_message_at
    with np.errstate(invalid="ignore"):
        outside: np.ndarray = ~(age <= limits.customer_service_window_hours * HOUR) | (age < 0)
    used_up: np.ndarray = state.cs_sent_since_message >= limits.customer_service_per_message
    return outside, used_up


def audience_mask(campaign: Campaign, state: FollowerState, now: float) -> np.ndarray | None:
    """The followers ``campaign`` is meant for: its segment, narrowed to its members
    (None: no narrowing, everyone)."""
    mask = None if campaign.segment is None else evaluate_segment(campaign.segment, state, now)
    if campaign.members is not None:
        chosen = np.zeros(state.n, dtype=np.bool_)
        rows = [state.index[o] for o in campaign.members if o in state.index]
        chosen[np.asarray(rows, dtype=np.int64)] = True
        mask = chosen if mask is None else mask & chosen
    return mask


def plan(
    state: FollowerState,
    campaigns: Sequence[Campaign],
    now: float | str,
    *,
    account_type: str = "subscription",
    rules: MerchantRules | None = None,
    policy: str = "fencun",
    seed: int = 0,
    explore: bool = True,
    truth: Truth | None = None,
) -> Plan:
    """Plan one send at ``now`` for competing ``campaigns``; pure (the state is not changed).

    ``seed`` makes the Thompson draws reproducible; ``explore=False`` decides on posterior
    means. ``truth`` is the world's knowledge, for ``TRUTH_POLICIES`` only.
    """
    d = draft(
        state,
        campaigns,
        now,
        account_type=account_type,
        rules=rules,
        policy=policy,
        seed=seed,
        explore=explore,
        truth=truth,
    )
    if d.assigned:
        return d.finish()
    recipients = d.assign(choose_mass_campaign(d.campaigns, d.totals(), account_type))
    return d.finish(below_openid_list_minimum(d.campaigns, recipients, account_type))


def priority_order(campaigns: Sequence[Campaign]) -> tuple[Campaign, ...]:
    """The order a plan considers campaigns in: urgent ones first in line, otherwise the
    caller's order (:attr:`Plan.campaigns`, the rows of :attr:`Plan.codes`)."""
    order = sorted(range(len(campaigns)), key=lambda j: (not campaigns[j].urgent, j))
    return tuple(campaigns[j] for j in order)


def draft(
    state: FollowerState,
    campaigns: Sequence[Campaign],
    now: float | str,
    *,
    account_type: str = "subscription",
    rules: MerchantRules | None = None,
    policy: str = "fencun",
    seed: int | Sequence[int] = 0,
    explore: bool = True,
    truth: Truth | None = None,
    account: AccountSums | None = None,
    basis: ContextBasis | None = None,
) -> PlanDraft:
    """A plan up to its account-wide steps; pure (the state is not changed).

    Policy ``fencun``: the hard rules, the control group, the estimates, the economic
    decision and the holdouts, row by row, and each open row's net value; the caller then
    picks the account's one mass send from :meth:`PlanDraft.totals` (subscription
    accounts, :func:`choose_mass_campaign`), assigns (:meth:`PlanDraft.assign`) and
    finishes (:meth:`PlanDraft.finish`), as :func:`plan` does for a whole account. A shard
    of an account is drafted with the account's pooled statistics in ``state.stats`` and
    the account's ``account`` sums (and the shard's ``basis`` they were summed from, if
    kept); ``seed`` may then be a sequence (``[seed, shard]``) so that each shard draws
    its own. Exploration is bounded per draft: at most
    ``rules.exploration_share`` of the draft's open rows, so of the whole account too.

    Other policies are decided whole here: their drafts come assigned.
    """
    if policy not in POLICIES:
        raise ValueError(f"policy {policy!r}: one of {POLICIES}")
    if policy in TRUTH_POLICIES and truth is None:
        raise ValueError(f"policy {policy!r} needs the world's truth (its expected())")
    if account is not None and policy != "fencun":
        raise ValueError(f"policy {policy!r} is decided whole; only 'fencun' plans by shard")
    ts = to_epoch(now)
    rules = rules or MerchantRules()
    limits = load_platform_limits(account_type)
    for c in campaigns:
        if c.category not in state.category_index:
            raise ValueError(f"campaign {c.id}: unknown category {c.category!r}")
        if c.deadline is not None and ts > c.deadline:
            raise ValueError(f"campaign {c.id} ended at {iso(c.deadline)}")
    ids = [c.id for c in campaigns]
    if len(set(ids)) != len(ids):
        raise ValueError("campaign ids must be unique within a plan")
    ordered = priority_order(campaigns)
    n, k = state.n, len(ordered)
    codes = np.zeros((k, n), dtype=np.uint8)
    cache: dict[str, Any] = {}
    for j, c in enumerate(ordered):
        _hard_rules(state, c, ts, rules, limits, policy, codes[j], cache)
    if policy in ENGINE_POLICIES:
        control = control_mask(state, rules.control_fraction)
        for j in range(k):
            _mark(codes[j], control, R.CONTROL_GROUP)

    rng = np.random.default_rng(seed)
    ctx = plan_context(state, ts, rules, rng, account, basis)
    estimates: dict[str, CampaignEstimate] = {}
    for c in ordered:
        estimates[c.id] = estimate_campaign(
            state, ctx, state.category_index[c.category], draw=explore and policy in ENGINE_POLICIES
        )

    score = tested = None
    if policy == "ceiling":
        assert truth is not None
        _calibrate_to_truth(ordered, codes, estimates, truth)
    if policy in ENGINE_POLICIES:
        score, tested = _decide(state, ordered, codes, estimates, ctx, rules)
    elif policy == "oracle":
        assert truth is not None
        _oracle(ordered, codes, truth, limits)
    else:
        if policy == "simple":
            _simple_interest(state, ordered, codes, ts, rng)
        _blast(state, ordered, codes, rules, limits, policy, cache, ts)
    return PlanDraft(
        state=state,
        at=ts,
        policy=policy,
        account_type=account_type,
        campaigns=ordered,
        codes=codes,
        estimates=estimates,
        ctx=ctx,
        limits=limits,
        score=score,
        tested=tested,
    )


@dataclass
class PlanDraft:
    """A plan before its account-wide steps (see :func:`draft`). ``codes`` holds the
    reasons found so far (0: still a candidate); ``score`` each candidate's net value."""

    state: FollowerState
    at: float
    policy: str
    account_type: str
    campaigns: tuple[Campaign, ...]
    codes: np.ndarray
    estimates: dict[str, CampaignEstimate]
    ctx: PlanContext
    limits: PlatformLimits
    #: ``(k, n)`` float64: each candidate's net value in yuan (an urgent campaign's with
    #: its priority bonus), ``-inf`` for rows held back; None once assigned.
    score: np.ndarray | None = field(default=None, repr=False)
    tested: np.ndarray | None = field(default=None, repr=False)

    @property
    def assigned(self) -> bool:
        return self.score is None

    def totals(self) -> dict[str, float]:
        """Per campaign id, its candidates' positive net values summed (yuan; an urgent
        campaign's each carry the priority bonus): what a subscription account's one mass
        send a day is chosen on. The shards of an account add theirs."""
        if self.score is None:
            raise ValueError("the draft is assigned already")
        totals = _campaign_totals(self.score)
        return {c.id: float(totals[j]) for j, c in enumerate(self.campaigns)}

    def assign(self, mass_campaign: str | None) -> dict[str, int]:
        """At most one campaign per follower, the highest score winning; returns the
        recipients per campaign id. ``mass_campaign``: the account's one mass send of the
        day (:func:`choose_mass_campaign` of the account's totals), whose rivals' candidates
        are held back as ``lost_to_other_campaign``; None where the account may send more."""
        if self.score is None:
            raise ValueError("the draft is assigned already")
        ids = [c.id for c in self.campaigns]
        if mass_campaign is not None and mass_campaign not in ids:
            raise ValueError(f"campaign {mass_campaign!r} is not in the plan")
        winner = None if mass_campaign is None else ids.index(mass_campaign)
        _assign(self.campaigns, self.codes, self.score, winner)
        self.score = None
        codes = self.codes
        return {c.id: int(np.count_nonzero(codes[j] == 0)) for j, c in enumerate(self.campaigns)}

    def finish(self, below_minimum: Collection[str] = ()) -> Plan:
        """The plan. ``below_minimum``: mass campaigns whose recipients in the whole
        account fall short of an openid-list send's minimum
        (:func:`below_openid_list_minimum`); their recipients are held back for the
        platform's limit."""
        if self.score is not None:
            raise ValueError("assign the draft first")
        for j, c in enumerate(self.campaigns):
            if c.id in below_minimum:
                sent = self.codes[j] == 0
                self.codes[j][sent] = R.CODE_INDEX[R.PLATFORM_LIMIT]
        parts = [
            _summary_parts(self.state, c, self.codes[j], self.estimates[c.id], self.ctx, self.at)
            for j, c in enumerate(self.campaigns)
        ]
        return Plan(
            at=self.at,
            policy=self.policy,
            account_type=self.account_type,
            campaigns=self.campaigns,
            codes=self.codes,
            openids=self.state.openids,
            summaries=[
                campaign_summary(p, c, self.limits)
                for p, c in zip(parts, self.campaigns, strict=True)
            ],
            follower_value_yuan=self.ctx.follower_value_yuan,
            estimates=self.estimates,
            tested=self.tested,
            summary_parts=parts,
        )


def _decide(
    state: FollowerState,
    campaigns: tuple[Campaign, ...],
    codes: np.ndarray,
    estimates: dict[str, CampaignEstimate],
    ctx: PlanContext,
    rules: MerchantRules,
) -> tuple[np.ndarray, np.ndarray]:
    """The economic decision for every open row; returns each candidate's score ``(k, n)``
    (its net value, ``-inf`` if held back) and ``(k, n)``: the control group's members
    (who passed the hard rules) whom the decision would have sent."""
    k, n = codes.shape
    score = np.full((k, n), -np.inf)
    tested = np.zeros((k, n), dtype=np.bool_)
    group_code = R.CODE_INDEX[R.CONTROL_GROUP]
    for j, c in enumerate(campaigns):
        est = estimates[c.id]
        row = codes[j]
        # The control group is decided like everyone else, and only then kept back.
        group = row == group_code
        open_ = (row == 0) | group
        harm = est.harm
        # One economic decision: the drawn uplift (its mean plus what trying would teach)
        # against the expected harm. The reason only explains why the estimate is low.
        net = est.uplift_draw - harm
        worth = (est.uplift - harm > 0) & (net > 0)
        # Exploration at a bounded cost: followers whose expected net is not positive but
        # whose draw is (the engine knows too little to rule them out) are tried, at most
        # ``exploration_share`` of the open rows, those most likely to be worth it first.
        maybe = open_ & ~worth & (net > 0)
        budget = int(rules.exploration_share * int(open_.sum()))
        if maybe.sum() > budget:
            rows = np.flatnonzero(maybe)
            # Most likely worth it first: the posterior's z-score of the net, not the draw
            # (which favours whoever is least known, however poor their prospects).
            z = (est.uplift[rows] - harm[rows]) / np.maximum(est.uplift_sd[rows], np.float32(1e-6))
            # Followers of one cell share their z: a random order among them (per campaign,
            # the same at every dial value), so the same followers are not the ones tried
            # campaign after campaign.
            z = z + 1e-3 * _hash_uniform(state.openid_hash[rows], f"fencun:explore:{c.id}")
            keep = rows[np.argsort(-z, kind="stable")[:budget]]
            maybe[:] = False
            maybe[keep] = True
        worth |= maybe
        tested[j] = group & worth
        low = open_ & ~worth & ~group
        row[low & (est.relevance == 0)] = R.CODE_INDEX[R.LOW_RELEVANCE]
        row[low & (est.relevance != 0) & (est.uplift <= 0)] = R.CODE_INDEX[R.NO_LIFT]
        _mark(row, low, R.HARM_EXCEEDS_VALUE)
        _mark(row, open_ & worth & holdout_mask(state, c.id, rules.holdout_fraction), R.HOLDOUT)
        candidate = row == 0
        score[j][candidate] = net[candidate] + (_URGENT_BONUS if c.urgent else 0.0)
    return score, tested


def _calibrate_to_truth(
    campaigns: tuple[Campaign, ...],
    codes: np.ndarray,
    estimates: dict[str, CampaignEstimate],
    truth: Truth,
) -> None:
    """Policy ``ceiling``: each estimate's uplift and harm become the world's truth averaged
    over the open rows of each uplift cell; the Thompson draw keeps its offset, so the
    engine explores as it would."""
    for j, c in enumerate(campaigns):
        est = estimates[c.id]
        rows = np.flatnonzero((codes[j] == 0) | (codes[j] == R.CODE_INDEX[R.CONTROL_GROUP]))
        if rows.size == 0:
            continue
        gain, harm = (np.asarray(x, dtype=np.float64) for x in truth(c, rows))
        cells = est.cells[rows]
        n = np.maximum(np.bincount(cells, minlength=N_CELLS), 1)
        mean_gain = (np.bincount(cells, gain, N_CELLS) / n)[cells].astype(np.float32)
        mean_harm = (np.bincount(cells, harm, N_CELLS) / n)[cells].astype(np.float32)
        est.uplift_draw[rows] += mean_gain - est.uplift[rows]
        est.uplift[rows] = mean_gain
        est.harm[rows] = mean_harm


def _oracle(
    campaigns: tuple[Campaign, ...], codes: np.ndarray, truth: Truth, limits: PlatformLimits
) -> None:
    """Send where the world's true expected gain exceeds its true expected harm."""
    k, n = codes.shape
    score = np.full((k, n), -np.inf)
    for j, c in enumerate(campaigns):
        row = codes[j]
        rows = np.flatnonzero(row == 0)
        if rows.size == 0:
            continue
        gain, harm = truth(c, rows)
        net = np.asarray(gain, dtype=np.float64) - np.asarray(harm, dtype=np.float64)
        worth = net > 0
        row[rows[~worth]] = R.CODE_INDEX[R.HARM_EXCEEDS_VALUE]
        score[j][rows[worth]] = net[worth] + (_URGENT_BONUS if c.urgent else 0.0)
    # The oracle plans the whole account in one piece: its account-wide steps follow here.
    ids = [c.id for c in campaigns]
    totals = dict(zip(ids, _campaign_totals(score).tolist(), strict=True))
    winner = choose_mass_campaign(campaigns, totals, limits.account_type)
    _assign(campaigns, codes, score, None if winner is None else ids.index(winner))
    _openid_list_minimum(campaigns, codes, limits)


def _simple_interest(
    state: FollowerState,
    campaigns: tuple[Campaign, ...],
    codes: np.ndarray,
    now: float,
    rng: np.random.Generator,
) -> None:
    """The five-line heuristic: followers with any evidence of interest in the category,
    plus a random ``SIMPLE_EXPLORE`` of followers with no evidence at all yet."""
    evidence = state.evidence_at(now)
    none_yet = ~(evidence > 0).any(axis=1)
    for j, c in enumerate(campaigns):
        k = state.category_index[c.category]
        chosen = (evidence[:, k] > 0) | (none_yet & (rng.random(state.n) < SIMPLE_EXPLORE))
        _mark(codes[j], ~chosen, R.LOW_RELEVANCE)


def _campaign_totals(score: np.ndarray) -> np.ndarray:
    """Per campaign, the positive finite scores summed (float64)."""
    totals: np.ndarray = np.where(np.isfinite(score), np.maximum(score, 0), 0).sum(
        axis=1, dtype=np.float64
    )
    return totals


def choose_mass_campaign(
    campaigns: Sequence[Campaign], totals: Mapping[str, float], account_type: str
) -> str | None:
    """The account's one mass send of the day, where its type allows one (subscription
    accounts) and more than one mass campaign competes: the one whose ``totals``
    (:meth:`PlanDraft.totals`, of the whole account: a sharded account adds its shards')
    are largest, the first in :func:`priority_order` on a tie. None: no choice to make."""
    limits = load_platform_limits(account_type)
    ordered = priority_order(campaigns)
    mass = [c for c in ordered if c.channel == "mass"]
    if limits.mass_sends_per_day_account is None or len(mass) < 2:
        return None
    best = max(range(len(mass)), key=lambda j: (totals[mass[j].id], -j))
    return mass[best].id


def below_openid_list_minimum(
    campaigns: Sequence[Campaign], recipients: Mapping[str, int], account_type: str
) -> list[str]:
    """Mass campaigns whose ``recipients`` (in the whole account) are too few for an
    openid-list send (service accounts: at least two); empty where no such send is made."""
    limits = load_platform_limits(account_type)
    if not limits.openid_list_send:
        return []
    return [
        c.id
        for c in campaigns
        if c.channel == "mass" and 0 < recipients.get(c.id, 0) < limits.openid_list_min
    ]


def _assign(
    campaigns: tuple[Campaign, ...], codes: np.ndarray, score: np.ndarray, winner: int | None
) -> None:
    """At most one campaign per follower: the highest score wins (urgent ones carry a
    bonus). ``winner``: the index of the account's one mass send of the day, if chosen
    (the same message to all it reaches): the other mass campaigns lose their candidates."""
    k = codes.shape[0]
    if k == 0:
        return
    if winner is not None:
        for j, c in enumerate(campaigns):
            if c.channel == "mass" and j != winner:
                codes[j][np.isfinite(score[j])] = R.CODE_INDEX[R.LOST_TO_OTHER_CAMPAIGN]
                score[j] = -np.inf
    best = np.argmax(score, axis=0)
    any_candidate = np.isfinite(score).any(axis=0)
    for j in range(k):
        lost = np.isfinite(score[j]) & ~((best == j) & any_candidate)
        codes[j][lost] = R.CODE_INDEX[R.LOST_TO_OTHER_CAMPAIGN]


def _blast(
    state: FollowerState,
    campaigns: tuple[Campaign, ...],
    codes: np.ndarray,
    rules: MerchantRules,
    limits: PlatformLimits,
    policy: str,
    cache: dict[str, Any],
    now: float,
) -> None:
    """Send every campaign to all it may reach, in priority order, counting platform quotas."""
    n = state.n
    extra = np.zeros(n, dtype=np.int16)
    per_month = limits.mass_sends_per_month_per_follower
    one_per_day = limits.mass_sends_per_day_account is not None
    day_taken = False
    wecom_taken = np.zeros(n, dtype=np.bool_)  # WeCom: one mass message per customer a day
    for j, c in enumerate(campaigns):
        row = codes[j]
        if c.channel == "wecom":
            _mark(row, wecom_taken, R.PLATFORM_LIMIT)
        if c.channel == "mass":
            if one_per_day and day_taken:
                _mark(row, np.ones(n, dtype=np.bool_), R.LOST_TO_OTHER_CAMPAIGN)
            if per_month is not None:
                _mark(
                    row,
                    cache.get("month", state.month_count_at(now)) + extra >= per_month,
                    R.PLATFORM_LIMIT,
                )
        if policy in CAPPED_POLICIES:
            _mark(
                row,
                cache.get("week", state.pushes_within(now, 7 * DAY)) + extra >= rules.weekly_cap,
                R.WEEKLY_CAP,
            )
        sent = row == 0
        if c.channel == "mass" and sent.any():
            day_taken = True
        if c.channel == "wecom":
            wecom_taken |= sent
        extra += sent
    _openid_list_minimum(campaigns, codes, limits)


def _openid_list_minimum(
    campaigns: tuple[Campaign, ...], codes: np.ndarray, limits: PlatformLimits
) -> None:
    # An openid-list mass send needs at least two recipients (service accounts).
    recipients = {c.id: int(np.count_nonzero(codes[j] == 0)) for j, c in enumerate(campaigns)}
    below = below_openid_list_minimum(campaigns, recipients, limits.account_type)
    for j, c in enumerate(campaigns):
        if c.id in below:
            sent = codes[j] == 0
            codes[j][sent] = R.CODE_INDEX[R.PLATFORM_LIMIT]


def _summary_parts(
    state: FollowerState,
    c: Campaign,
    row: np.ndarray,
    est: CampaignEstimate,
    ctx: PlanContext,
    now: float,
) -> SummaryParts:
    reachable = state.wecom_contact if c.channel == "wecom" else state.subscribed
    everyone = reachable & ~state.received_mask(c.id)
    audience = audience_mask(c, state, now)
    if audience is not None:
        everyone &= audience

    def sums(mask: np.ndarray) -> MaskSums:
        return MaskSums(
            reach=int(np.count_nonzero(mask)),
            orders=float(est.orders[mask].sum(dtype=np.float64)),
            revenue=float(est.uplift[mask].sum(dtype=np.float64)),
            unfollows=float(est.p_unfollow[mask].sum(dtype=np.float64)),
            cells=np.bincount(est.cells[mask], minlength=N_CELLS),
        )

    return SummaryParts(
        campaign_id=c.id,
        reasons=np.bincount(row, minlength=len(R.CODES)),
        sent=sums(row == 0),
        everyone=sums(everyone),
        orders_var=ctx.orders.var[est.category],
        revenue_var=ctx.revenue.var[est.category],
        unfollows_seen=float(state.stats.unf_after.sum() + state.stats.haz_unf.sum()),
    )


def _prediction(m: MaskSums, parts: SummaryParts) -> Prediction:
    # Followers of one cell share its uncertainty; cells are independent.
    counts = m.cells.astype(np.float64)
    orders_sd = float(np.sqrt((counts * counts * parts.orders_var).sum()))
    revenue_sd = float(np.sqrt((counts * counts * parts.revenue_var).sum()))
    # Unfollows: Poisson noise plus the uncertainty of the pooled rates behind them.
    unfollows = m.unfollows
    sd = np.sqrt(unfollows) + unfollows / np.sqrt(1.0 + parts.unfollows_seen)
    return Prediction(
        reach=m.reach,
        orders=round(m.orders, 2),
        revenue=round(m.revenue, 2),
        unfollows=round(unfollows, 2),
        orders_ci=(round(m.orders - Z90 * orders_sd, 2), round(m.orders + Z90 * orders_sd, 2)),
        revenue_ci=(
            round(m.revenue - Z90 * revenue_sd, 2),
            round(m.revenue + Z90 * revenue_sd, 2),
        ),
        unfollows_ci=(round(max(unfollows - Z90 * sd, 0.0), 2), round(unfollows + Z90 * sd, 2)),
    )


def campaign_summary(parts: SummaryParts, c: Campaign, limits: PlatformLimits) -> CampaignSummary:
    """The summary a dry run shows of ``c``, from its :class:`SummaryParts` (one plan's,
    or the sum of a sharded account's)."""
    counts = parts.reasons
    sent = int(counts[0])
    if c.channel == "customer_service":
        method, batches = "customer_service", sent
    elif c.channel == "wecom":
        method, batches = "wecom_mass", -(-sent // load_wecom_limits().mass_external_userids_max)
    elif limits.openid_list_send:
        method, batches = "openid_list", -(-sent // limits.openid_list_max)
    else:
        method, batches = "tag", 1 if sent else 0
    if sent == 0:
        method, batches = "none", 0
    return CampaignSummary(
        campaign_id=c.id,
        audience=int(counts.sum()),
        sent=sent,
        held_back={code: int(counts[i]) for i, code in enumerate(R.CODES) if i and counts[i]},
        predicted=_prediction(parts.sent, parts),
        send_to_all=_prediction(parts.everyone, parts),
        delivery_method=method,
        batches=batches,
    )


def dial_effect(
    state: FollowerState,
    campaigns: Sequence[Campaign],
    now: float | str,
    values_yuan: Sequence[float],
    *,
    account_type: str = "subscription",
    rules: MerchantRules | None = None,
    seed: int = 0,
    explore: bool = True,
) -> list[dict[str, Any]]:
    """What the plan would do at each value of the dial (yuan per kept follower): the same
    plan (same seed, same draws) with only the dial changed, so the row at the merchant's
    setting is the plan itself and reach can only fall as the value rises."""
    rules = rules or MerchantRules()
    out: list[dict[str, Any]] = []
    for v in values_yuan:
        p = plan(
            state,
            campaigns,
            now,
            account_type=account_type,
            rules=_with_value(rules, v),
            seed=seed,
            explore=explore,
        )
        out.append(
            {
                "follower_value_yuan": v,
                "sent": sum(s.sent for s in p.summaries),
                "orders": round(sum(s.predicted.orders for s in p.summaries), 2),
                "revenue": round(sum(s.predicted.revenue for s in p.summaries), 2),
                "unfollows": round(sum(s.predicted.unfollows for s in p.summaries), 2),
            }
        )
    return out


def _with_value(rules: MerchantRules, value: float) -> MerchantRules:
    return replace(rules, follower_value_yuan=value)
