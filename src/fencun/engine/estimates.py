"""Learned estimates: what a push adds (its uplift) and what it costs (its harm).

**Uplift, from randomized contrasts.** Every push opens a 7-day outcome window for the
follower in the campaign's category; so does every *control*: a follower kept back by
chance (the campaign's holdout, or the account's control group) who would otherwise have
been eligible. Orders of the category inside a window count for its arm (treated or
control), in the follower's *cell* as it was when the window opened
(:data:`~fencun.engine.state.CELL_SHAPE`: interest evidence in the category, interest
shown in another category, pushes of it left unanswered, orders ever, distance to a store,
recency). The uplift of a cell is ``treated mean - control mean``: a follower who would
have bought anyway buys in both arms and earns the push nothing; a push that lowers buying
("sleeping dogs") shows as a negative uplift. Last-touch attribution is never used.

Revenue is learned in units of each category's price scale, so that categories pool: the
uplift is estimated top-down along the cell's dimensions -- relevance (all categories) ->
category x relevance -> x elsewhere -> x unanswered -> x orders ever -> x distance -> x
recency. At each level the treated mean is shrunk toward its parent's (``S_LEVEL``
pseudo-observations) and compared with the cell's own controls; that contrast is shrunk
toward the parent's uplift by the number of controls (``CONTROL_BORROW`` times the
pseudo-observations: orders are rare and dear). A thin cell borrows its parent's uplift, a
rich one speaks for itself, and a cell that is nearly always pushed never compares its
treated mean with a baseline borrowed from other followers. What
happens without a push (the control arm alone) is pooled the same way, borrowing more
(``CONTROL_BORROW``). The same is done with order counts, for the dry-run's predicted
orders.

**Value of information: Thompson sampling.** A plan decides on a draw of each follower's
uplift from its posterior (mean plus its standard deviation times a standard normal draw,
seeded): a cell the engine knows little about is sometimes tried -- more often the more it
might be worth -- and the trial is what teaches; as contrasts accumulate the posterior
narrows and exploration fades by itself. Harm uses posterior means: the engine explores
upside, never the follower's patience. With no contrast yet the priors say a push adds
``PRIOR_UPLIFT`` orders per push by relevance (0.3-2 %), so the first campaign of a new
account is tried on a large share of its followers, not held back.

**Harm.** Unfollows within 48 h of a push are pooled by attention pressure (decayed
pushes, this one included) x relevant/irrelevant, less the base hazard of rested
followers; the *lasting* harm (a push keeps pressure raised for weeks) comes from the daily
unfollow hazard by pressure level, integrated over the push's decaying pressure. Times the
follower's value, that is the first part of the harm. The second is **attention**,
learned from a randomized contrast: the next push of a category the follower cares about,
after a push, is read less often than after a holdout kept back from that push -- by the
first push's relevance, so irrelevant pushes show their heavier toll; it counts only as
far as reads back it (an account whose reads are not reported learns no loss). That share of
response lost, times what the fatigue reaches (the follower's best later pushes,
``LATER_PUSHES`` of them, and what they buy on their own while the pressure decays), is
the attention harm. The later pushes are valued at what the engine knows of the follower:
one whose interests are still unknown is not charged for pushes they may never be worth.

**Exploration is bounded**: at most ``MerchantRules.exploration_share`` of a campaign's
open followers are sent on a draw alone (expected net not positive), those most likely to
be worth it first (planner.py).

**The follower's value** (the dial, when the merchant leaves it unset): revenue of
subscribed followers per follower-day while observed -- orders imported from before the
log began, or from people who never followed, do not count -- times the expected remaining
days (one over the rested daily unfollow rate, between the rules' bounds), weighted per
follower by engagement (0.5-3x).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from fencun.engine.rules import MerchantRules
from fencun.engine.state import (
    CELL_SHAPE,
    CONTROL,
    HAZARD_EDGES,
    N_CELLS,
    ORDER_ATTRIBUTION_DAYS,
    PRESSURE_EDGES,
    PRESSURE_HALF_LIFE_DAYS,
    RELEVANCE_EDGES,
    TREATED,
    FollowerState,
    bucket,
)

#: Incremental orders per push by relevance bucket, before any contrast is seen.
PRIOR_UPLIFT = np.array([0.003, 0.006, 0.01, 0.02])
PRIOR_BASE = 0.002  # orders of the category per follower-week without a push, a priori
S_ROOT = 300.0  # pseudo-observations behind each relevance bucket's prior
S_LEVEL = 150.0  # pseudo-observations a cell borrows from its parent, per level
CONTROL_BORROW = 3.0  # the control arm's levels borrow this many times as much
PRIOR_UNFOLLOW = np.array(  # (pressure bucket, relevant?) per push, within 48 h
    [[0.002, 0.001], [0.004, 0.002], [0.008, 0.004], [0.015, 0.008], [0.03, 0.015]]
)
S_UNFOLLOW = 300.0
PRIOR_BASE_HAZARD = 0.0005  # unfollows per follower-day with no push
S_BASE_DAYS = 2000.0
HORIZON_DAYS_FLOOR = 30.0
S_HAZARD_DAYS = 3000.0  # pseudo follower-days behind each pressure level's daily hazard
PRIOR_READ = 0.1  # read-through of a push, before any reads are seen
S_READ = 200.0
S_ATTENTION = 200.0  # pseudo next-pushes behind each arm's read-through
S_ATTENTION_READS = 20.0  # control reads before the attention contrast counts in full
LATER_PUSHES = 2.0  # later pushes of worth a push's fatigue reaches: it lasts ~10 days, a relevant push or two a week
AFTERMATH_DAYS = 42  # a push's pressure is followed this long (six half-lives)
PRESSURE_GRID = np.linspace(0.0, 24.0, 241)  # decayed pushes; harm curves are tabulated on it
Z90 = 1.6449  # two-sided 90 % normal interval


@dataclass
class Uplift:
    """Posterior of the uplift per (category, cell), one quantity (revenue or orders)."""

    mean: np.ndarray  # (C, N_CELLS) treated mean - control mean, per observation
    var: np.ndarray  # (C, N_CELLS) its posterior variance
    control: np.ndarray  # (C, N_CELLS) the control arm's mean (what happens without a push)


@dataclass
class PlanContext:
    """Per-plan quantities shared by all campaigns (computed once per plan)."""

    evidence: np.ndarray  # (n, C) float32, decayed to now
    now: float
    follower_value: np.ndarray  # (n,) yuan
    follower_value_yuan: float  # the account-level dial (given or learned)
    p_unfollow: np.ndarray  # (n, 2) incremental unfollow probability, irrelevant/relevant push
    rng: np.random.Generator
    exploration: float
    revenue: Uplift  # yuan per push
    cells: list[np.ndarray]  # per category, each row's uplift cell now
    orders: Uplift  # orders per push
    attention_loss: np.ndarray  # (N_REL,) share of the next push's response a push takes
    future_value: np.ndarray  # (n,) yuan a push's fatigue can dull: later pushes, own buying


def _decay_steps() -> np.ndarray:
    return np.exp2(-np.arange(AFTERMATH_DAYS) / PRESSURE_HALF_LIFE_DAYS)


def daily_hazard(state: FollowerState) -> np.ndarray:
    """Posterior mean unfollows per follower-day by pressure level (``HAZARD_EDGES``), never
    falling as pressure rises; the prior is the base hazard at every level."""
    s = state.stats
    h = (s.haz_unf + S_HAZARD_DAYS * PRIOR_BASE_HAZARD) / (s.haz_days + S_HAZARD_DAYS)
    return np.maximum.accumulate(h)


def lasting_unfollow_curve(state: FollowerState) -> np.ndarray:
    """Extra unfollow probability one more push causes over the following weeks, tabulated
    on ``PRESSURE_GRID`` (the follower's pressure now): the push lifts the pressure by one,
    that lift decays, and the daily hazard at the lifted pressure is learned above."""
    h = daily_hazard(state)
    decay = _decay_steps()
    before = PRESSURE_GRID[:, None] * decay[None, :]
    after = before + decay[None, :]
    extra = h[bucket(after, HAZARD_EDGES)] - h[bucket(before, HAZARD_EDGES)]
    return np.maximum(extra, 0.0).sum(axis=1)  # type: ignore[no-any-return]  # numpy: sum is Any


def attention_loss(state: FollowerState) -> np.ndarray:
    """Share of the next push's read-through that a push of each relevance bucket takes
    away: the next push after a push is read less often than the next push after a holdout
    kept back from it (a randomized contrast), shrunk toward no loss while data are few."""
    s = state.stats
    n_t, r_t = s.att_n[TREATED], s.att_read[TREATED]
    n_c, r_c = s.att_n[CONTROL], s.att_read[CONTROL]
    pooled = (r_t.sum() + r_c.sum() + S_READ * PRIOR_READ) / (n_t.sum() + n_c.sum() + S_READ)
    # Without the push, how the next one is read hardly depends on that push's relevance:
    # the scarce holdouts pool across buckets.
    control_all = (r_c.sum() + S_ATTENTION * pooled) / (n_c.sum() + S_ATTENTION)
    rate_c = (r_c + S_ATTENTION * control_all) / (n_c + S_ATTENTION)
    rate_t = (r_t + S_ATTENTION * rate_c) / (n_t + S_ATTENTION)
    # A share lost is only as sure as the reads behind it: an account whose reads are not
    # reported (or a new one) has learned nothing about attention, not that it is all lost.
    sure = r_c.sum() / (r_c.sum() + S_ATTENTION_READS)
    return np.clip((1.0 - rate_t / rate_c) * sure, 0.0, 1.0)  # type: ignore[no-any-return]  # numpy


def future_push_value(
    state: FollowerState, revenue: Uplift, cells: list[np.ndarray]
) -> tuple[np.ndarray, np.ndarray]:
    """Per row: yuan the follower's next push can add (the uplift of their best category:
    the engine sends what is worth most), and yuan the follower buys per day without
    pushes (the control arms, all categories)."""
    best = np.zeros(state.n, dtype=np.float32)
    base = np.zeros(state.n, dtype=np.float32)
    for c, rows in enumerate(cells):
        np.maximum(best, revenue.mean[c][rows].astype(np.float32), out=best)
        base += revenue.control[c][rows].astype(np.float32)
    return best, base / np.float32(ORDER_ATTRIBUTION_DAYS)


def learned_follower_value(state: FollowerState, rules: MerchantRules) -> float:
    """The dial, or when unset: revenue per observed follower-day x the follower's expected
    remaining days (1 / base unfollow rate, between the rules' horizon bounds), in yuan."""
    if rules.follower_value_yuan is not None:
        return float(rules.follower_value_yuan)
    s = state.stats
    if s.follower_days <= 0:
        return rules.min_follower_value_yuan
    # A few days of a small account say little: the first weeks borrow from the floor.
    per_day = s.revenue / (s.follower_days + S_BASE_DAYS)
    base = float(daily_hazard(state)[0])  # rested followers' daily unfollow rate
    lo = max(rules.value_horizon_days, HORIZON_DAYS_FLOOR)
    horizon = min(max(1.0 / max(base, 1e-9), lo), max(rules.max_value_horizon_days, lo))
    return max(rules.min_follower_value_yuan, per_day * horizon)


def _arm_posterior(
    n: np.ndarray, y: np.ndarray, prior: np.ndarray, sigma2: np.ndarray, borrow: float
) -> tuple[np.ndarray, np.ndarray]:
    """Top-down shrinkage along ``CELL_SHAPE`` for one arm: ``n``, ``y`` (C, N_CELLS)
    observations and sums; ``prior`` (N_REL,) the relevance buckets' prior means; ``sigma2``
    (N_REL,) the variance of one observation. Returns posterior mean and variance."""
    c = n.shape[0]
    shape = (c, *CELL_SHAPE)
    n6, y6 = n.reshape(shape), y.reshape(shape)
    depth = len(CELL_SHAPE)
    # Level 1: relevance, pooled over categories.
    n1 = n6.sum(axis=(0, *range(2, depth + 1)))
    y1 = y6.sum(axis=(0, *range(2, depth + 1)))
    mean = (y1 + S_ROOT * prior) / (n1 + S_ROOT)
    var = sigma2 / (n1 + S_ROOT)
    mean = np.broadcast_to(mean, (c, CELL_SHAPE[0]))
    var = np.broadcast_to(var, (c, CELL_SHAPE[0]))
    s2 = np.broadcast_to(sigma2[None, :], (c, CELL_SHAPE[0]))
    strength = S_LEVEL * borrow
    # Levels 2..: category x relevance, then one more dimension at a time.
    for level in range(1, depth + 1):
        axes = tuple(range(level + 1, depth + 1))
        n_l = n6.sum(axis=axes) if axes else n6
        y_l = y6.sum(axis=axes) if axes else y6
        if level > 1:
            mean, var, s2 = mean[..., None], var[..., None], s2[..., None]
        w = strength / (n_l + strength)
        mean = (y_l + strength * mean) / (n_l + strength)
        var = s2 / (n_l + strength) + w * w * var
        s2 = np.broadcast_to(s2, n_l.shape)
    return mean.reshape(c, N_CELLS), var.reshape(c, N_CELLS)


def _by_relevance(x: np.ndarray) -> np.ndarray:
    """(C, N_CELLS) -> (N_REL,): summed over categories and every other cell dimension."""
    return x.reshape(-1, *CELL_SHAPE).sum(axis=(0, *range(2, len(CELL_SHAPE) + 1)))  # type: ignore[no-any-return]  # numpy: sum is Any


def _difference_posterior(
    n: np.ndarray,
    y: np.ndarray,
    prior_treated: np.ndarray,
    prior_uplift: np.ndarray,
    sigma2: Sequence[np.ndarray],
) -> tuple[np.ndarray, np.ndarray]:
    """Top-down posterior of the uplift (treated - control) along ``CELL_SHAPE``.

    ``n``, ``y`` (2, C, N_CELLS): observations and sums per arm; ``prior_treated`` and
    ``prior_uplift`` (N_REL,) the relevance buckets' priors; ``sigma2`` the variance of
    one observation per arm (N_REL,). At each level the treated mean is shrunk toward its
    parent's, and the cell's own controls are compared with it, their contrast shrunk
    toward the parent's uplift by how many controls there are (``CONTROL_BORROW`` times
    the pseudo-observations: orders are rare and dear, one among a few controls is
    noise). A cell with few controls so inherits its parent's uplift instead of comparing
    its treated mean with somebody else's baseline: a cell of followers who buy anyway,
    pushed often and seldom held back, gets no credit for what they would have bought."""
    c = n.shape[1]
    depth = len(CELL_SHAPE)
    shape = (c, *CELL_SHAPE)
    nt, nc = n[TREATED].reshape(shape), n[CONTROL].reshape(shape)
    yt, yc = y[TREATED].reshape(shape), y[CONTROL].reshape(shape)
    per_rel = (1, CELL_SHAPE[0]) + (1,) * (depth - 1)  # broadcasts onto every level
    s2t, s2c = (x.reshape(per_rel) for x in sigma2)
    t_mean, u_mean = prior_treated.reshape(per_rel), prior_uplift.reshape(per_rel)
    # The priors are worth ``S_ROOT`` observations of each arm.
    t_var, u_var = np.zeros(per_rel), (s2t + s2c) / S_ROOT
    strength = S_ROOT
    # Level 0: relevance over all categories; 1: category x relevance; then one more
    # dimension at a time. Sums keep their axes, so a parent broadcasts onto its children.
    for lvl in range(depth + 1):
        axes = ((0,) if lvl == 0 else ()) + tuple(range(max(lvl, 1) + 1, depth + 1))
        a_t, a_c = nt.sum(axis=axes, keepdims=True), nc.sum(axis=axes, keepdims=True)
        b_t, b_c = yt.sum(axis=axes, keepdims=True), yc.sum(axis=axes, keepdims=True)
        w_t = strength / (a_t + strength)
        t_var = s2t / (a_t + strength) + w_t * w_t * t_var
        t_mean = (b_t + strength * t_mean) / (a_t + strength)
        w = a_c / (a_c + strength * CONTROL_BORROW)
        controls = np.maximum(a_c, 1.0)
        u_var = w * w * (t_var + s2c / controls) + (1.0 - w) ** 2 * u_var
        u_mean = w * (t_mean - b_c / controls) + (1.0 - w) * u_mean
        strength = S_LEVEL
    return u_mean.reshape(c, N_CELLS), u_var.reshape(c, N_CELLS)


def uplift(state: FollowerState, quantity: str = "revenue") -> Uplift:
    """Posterior uplift per (category, cell): revenue in yuan per push (``"revenue"``) or
    orders per push (``"orders"``), from the randomized contrasts in ``state.stats``."""
    s = state.stats
    if quantity == "revenue":
        scale = state.category_prices()[None, :, None]
        y, y2 = s.up_y / scale, s.up_y2 / (scale * scale)
    elif quantity == "orders":
        scale = np.ones((1, s.up_n.shape[1], 1))
        y, y2 = s.up_o, s.up_o  # counts: y^2 ~ y for rare single orders
    else:
        raise ValueError(f"quantity {quantity!r}: revenue or orders")
    control_prior = np.full(CELL_SHAPE[0], PRIOR_BASE)
    sigma2: list[np.ndarray] = []
    for arm, prior in ((TREATED, control_prior + PRIOR_UPLIFT), (CONTROL, control_prior)):
        # Variance of one observation per relevance bucket: the data's second moment
        # shrunk toward a Bernoulli at the prior rate (in price units, y^2 ~ y).
        n_r, y_r, y2_r = (_by_relevance(x[arm]) for x in (s.up_n, y, y2))
        m = (y_r + S_ROOT * prior) / (n_r + S_ROOT)
        m2 = (y2_r + S_ROOT * prior) / (n_r + S_ROOT)
        sigma2.append(np.maximum(m2 - m * m, 1e-6))
    # What happens without a push: the control arm, its levels borrowing more (controls
    # are scarcer and baselines smoother).
    mc, _ = _arm_posterior(s.up_n[CONTROL], y[CONTROL], control_prior, sigma2[1], CONTROL_BORROW)
    md, vd = _difference_posterior(s.up_n, y, control_prior + PRIOR_UPLIFT, PRIOR_UPLIFT, sigma2)
    unit = scale[0]
    return Uplift(mean=md * unit, var=vd * unit * unit, control=mc * unit)


@dataclass(frozen=True)
class AccountSums:
    """Sums over all of an account's followers that a plan needs beside each follower's
    own row. A plan weighs a follower's value against the account's mean engagement; an
    account split into shards adds its shards' sums (``+``) and each shard plans with the
    account's, as the whole account would.

    ``rows``: followers (state rows); ``engagement``: their engagement summed (decayed
    interest evidence plus five per order)."""

    rows: int = 0
    engagement: float = 0.0

    def __add__(self, other: AccountSums) -> AccountSums:
        return AccountSums(
            rows=self.rows + other.rows, engagement=self.engagement + other.engagement
        )

    @property
    def mean_engagement(self) -> float:
        return self.engagement / self.rows if self.rows else 0.0


def _engagement(state: FollowerState, evidence: np.ndarray) -> np.ndarray:
    engagement: np.ndarray = evidence.sum(axis=1) + np.float32(5.0) * state.orders
    return engagement


def _sums(state: FollowerState, engagement: np.ndarray) -> AccountSums:
    return AccountSums(rows=state.n, engagement=float(engagement.sum(dtype=np.float64)))


@dataclass
class ContextBasis:
    """The row-wise part of a plan's context at ``now`` that :class:`AccountSums` are made
    of: a shard computes it once for its sums and plans on it (:func:`plan_context`)."""

    now: float
    evidence: np.ndarray  # (n, C) float32, decayed to now
    cells: list[np.ndarray]  # per category, each row's uplift cell now
    revenue: Uplift  # yuan per push
    next_push: np.ndarray  # (n,) yuan the next push can add (the best category's uplift)
    organic: np.ndarray  # (n,) yuan a day bought without pushes
    engagement: np.ndarray  # (n,) float32
    sums: AccountSums  # this state's


def context_basis(state: FollowerState, now: float) -> ContextBasis:
    """The :class:`ContextBasis` of ``state`` at ``now``. ``state.stats`` must be the
    account's pooled statistics: the next push's uplift is learned from them."""
    evidence = state.evidence_at(now)
    # A follower who chose no personalisation is decided on as one the engine knows
    # nothing of: their learned interests are not used (PIPL art. 24).
    evidence[state.impersonal] = np.float32(0.0)
    revenue = uplift(state, "revenue")
    cells = state.uplift_cells_of(range(len(state.categories)), now, evidence=evidence)
    next_push, organic = future_push_value(state, revenue, cells)
    engagement = _engagement(state, evidence)
    return ContextBasis(
        now=now,
        evidence=evidence,
        cells=cells,
        revenue=revenue,
        next_push=next_push,
        organic=organic,
        engagement=engagement,
        sums=_sums(state, engagement),
    )


def account_sums(state: FollowerState, now: float) -> AccountSums:
    """This state's part of :class:`AccountSums` at ``now`` (the whole account's, for a
    state that holds all of it); see :func:`context_basis`."""
    return context_basis(state, now).sums


def plan_context(
    state: FollowerState,
    now: float,
    rules: MerchantRules,
    rng: np.random.Generator,
    account: AccountSums | None = None,
    basis: ContextBasis | None = None,
) -> PlanContext:
    """What a plan at ``now`` shares between its campaigns. ``account``: the account's
    :class:`AccountSums` when ``state`` holds only a shard of it (None: ``state`` is the
    whole account); ``basis``: the state's :class:`ContextBasis` at ``now``, if computed
    already (a shard's, for its sums)."""
    if basis is None:
        basis = context_basis(state, now)
    elif basis.now != now:
        raise ValueError("the context basis was computed for another time")
    evidence = basis.evidence
    pressure = state.pressure_now(now) + np.float32(1.0)
    pb = bucket(pressure, PRESSURE_EDGES)
    # Incremental unfollow probability of one more push, by pressure x relevance.
    s = state.stats
    base = (s.base_unfollows + S_BASE_DAYS * PRIOR_BASE_HAZARD) / (s.follower_days + S_BASE_DAYS)
    cell = (s.unf_after + S_UNFOLLOW * PRIOR_UNFOLLOW) / (s.unf_sent + S_UNFOLLOW)
    incremental = np.maximum(cell - 2.0 * base, 0.0).astype(np.float32)  # (P, 2)
    p_unf = incremental[pb]  # (n, 2) within 48 h
    # The lasting part: a push keeps the hazard raised for weeks. Irrelevant and relevant
    # pushes are weighed by their 48-hour unfollow rates relative to all pushes.
    now_pressure = pressure - np.float32(1.0)
    lasting = np.interp(now_pressure, PRESSURE_GRID, lasting_unfollow_curve(state))
    rate48 = (s.unf_after.sum(axis=0) + S_UNFOLLOW * PRIOR_UNFOLLOW.mean(axis=0)) / (
        s.unf_sent.sum(axis=0) + S_UNFOLLOW
    )
    overall = (s.unf_after.sum() + S_UNFOLLOW * PRIOR_UNFOLLOW.mean()) / (
        s.unf_sent.sum() + S_UNFOLLOW
    )
    ratio = (rate48 / overall).astype(np.float32)
    p_unf = np.maximum(p_unf, lasting[:, None].astype(np.float32) * ratio[None, :])
    revenue, cells, organic, engagement = basis.revenue, basis.cells, basis.organic, basis.engagement
    # Means over the whole account: summed in float64, so an account in shards adds up
    # to the same figures as one in a piece.
    sums = basis.sums if account is None else account
    # The follower's value: the dial, weighted by engagement (orders and evidence).
    v = learned_follower_value(state, rules)
    mean_eng = sums.mean_engagement
    weight = np.clip((1.0 + engagement) / (1.0 + mean_eng), 0.5, 3.0).astype(np.float32)
    # What one more push's fatigue dulls: the follower's next push (the contrast measures
    # exactly that), and what they buy on their own while it lasts (the decay of a push's
    # pressure, in days). The next push is valued at what the engine knows of the follower:
    # one whose interests are unknown is not charged for pushes they may never be worth
    # (valuing them at the account's mean next push held back the very tries that find
    # their interests, and cheap categories were never sent).
    lasting_days = np.float32(PRESSURE_HALF_LIFE_DAYS / np.log(2.0))
    exposed = basis.next_push * np.float32(LATER_PUSHES) + np.maximum(organic, 0.0) * lasting_days
    return PlanContext(
        evidence=evidence,
        now=now,
        follower_value=weight * np.float32(v),
        follower_value_yuan=v,
        p_unfollow=p_unf,
        rng=rng,
        exploration=rules.exploration,
        revenue=revenue,
        orders=uplift(state, "orders"),
        cells=cells,
        attention_loss=attention_loss(state).astype(np.float32),
        future_value=exposed,
    )


@dataclass
class CampaignEstimate:
    relevance: np.ndarray  # (n,) int8 bucket
    cells: np.ndarray  # (n,) int16 uplift cell
    uplift: np.ndarray  # (n,) float32 yuan: posterior mean incremental revenue of the push
    uplift_sd: np.ndarray  # (n,) float32 its posterior standard deviation
    uplift_draw: np.ndarray  # (n,) float32 the Thompson draw the decision uses
    orders: np.ndarray  # (n,) float32 posterior mean incremental orders
    p_unfollow: np.ndarray  # (n,) float32 incremental
    harm: np.ndarray  # (n,) float32 yuan: lost follower value plus lost attention
    category: int = 0


def estimate_campaign(
    state: FollowerState, ctx: PlanContext, c: int, draw: bool = True
) -> CampaignEstimate:
    """Estimates for pushing a campaign of category ``c`` to every row now."""
    cells = ctx.cells[c]
    rel = bucket(ctx.evidence[:, c], RELEVANCE_EDGES)
    mean = ctx.revenue.mean[c][cells].astype(np.float32)
    sd = np.sqrt(ctx.revenue.var[c][cells]).astype(np.float32)
    if draw and ctx.exploration > 0:
        z = ctx.rng.standard_normal(state.n, dtype=np.float32)
        drawn = mean + np.float32(ctx.exploration) * sd * z
    else:
        drawn = mean
    relevant = rel >= 2
    p_unf = np.where(relevant, ctx.p_unfollow[:, 1], ctx.p_unfollow[:, 0])
    # Harm: the follower's value times the unfollow the push risks, plus the attention it
    # takes from later pushes (the learned loss of response times what they can add).
    harm = p_unf * ctx.follower_value + ctx.attention_loss[rel] * ctx.future_value
    return CampaignEstimate(
        relevance=rel,
        cells=cells,
        uplift=mean,
        uplift_sd=sd,
        uplift_draw=drawn,
        orders=ctx.orders.mean[c][cells].astype(np.float32),
        p_unfollow=p_unf.astype(np.float32),
        harm=harm.astype(np.float32),
        category=c,
    )
