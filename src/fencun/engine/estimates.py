"""Learned estimates: probability of an order and of an unfollow per (follower, campaign).

Method: **empirical-Bayes Beta-Bernoulli with Thompson sampling.** Orders and unfollows
after a push are rare binary outcomes, and most followers have received a handful of
pushes at most, so per-follower rates alone are noise. We therefore pool:

* conversion (an order attributed to the campaign within 7 days of the push) is pooled
  in three levels: relevance bucket (all categories) -> category x relevance ->
  category x relevance x distance bucket. Each level's posterior mean is the prior of
  the next (prior strengths ``S_*``), so a thin cell borrows from its parent and a rich
  one speaks for itself. Relevance buckets come from the follower's decayed interest
  evidence in the category (reads, clicks, keyword texts, orders); distance buckets
  let the engine learn, rather than be told, that large items sell only near a store.
  The follower's own record (pushes of the category, orders from them) updates the
  cell as a last Beta level.
* unfollows within 48 h of a push are pooled by attention pressure (decayed pushes,
  including this one) x relevant/irrelevant. The base hazard (unfollows with no push
  before them, per follower-day) is subtracted: harm counts only what a push adds.
* a push also keeps the follower's pressure raised for weeks, so the **lasting** harm is
  learned too: unfollows per follower-day by pressure level (exposure counted as time
  passes, never falling with pressure), integrated over the push's decaying pressure.
  The larger of the 48-hour and the lasting estimate is used, weighed for irrelevant
  versus relevant pushes by their 48-hour rates.
* **attention**: read-through of interesting pushes by the pressure they arrived at
  gives the share of a later push's response one more push now takes away; times the
  push revenue per follower-day, that is the second part of the harm (yuan).
* the follower's value (the dial, when the merchant leaves it unset) is observed
  revenue per follower-day times the follower's expected remaining days (one over the
  rested daily unfollow rate, kept within the rules' horizon bounds).

Why this and not a fitted logistic model: the counts update in O(1) per event in the
same fold production runs, the posteriors are honest about thin data (a new follower
simply gets the pooled rate of followers like them), and a Beta posterior gives
exploration for free. **Exploration** is Thompson sampling: each plan draws the
conversion rates of cells and followers from their posteriors (seeded, so a plan is
reproducible) and decides on the draw, so uncertain cells and followers are sometimes
tried and their interest discovered, and certain ones are not. Both levels are drawn
from their actual Beta posteriors: for rare outcomes these are skewed, so a few
followers are tried boldly rather than half of them timidly (a symmetric normal
approximation sent to half of all uninterested followers on every plan). Harm uses
posterior means: the engine explores upside, not the follower's patience.

The priors are deliberately modest (a push converts 0.2-4 % of followers depending on
evidence; an unfollow follows 0.2-3 % of pushes depending on pressure) and are
overwhelmed by a few thousand deliveries.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from fencun.engine.rules import MerchantRules
from fencun.engine.state import (
    HAZARD_EDGES,
    N_DIST,
    N_REL,
    PRESSURE_EDGES,
    PRESSURE_HALF_LIFE_DAYS,
    RELEVANCE_EDGES,
    FollowerState,
    bucket,
)

PRIOR_CONVERSION = np.array([0.002, 0.006, 0.015, 0.04])  # by relevance bucket
S_RELEVANCE = 400.0  # pseudo-deliveries behind the relevance-level prior
S_CATEGORY = 200.0
S_CELL = 100.0
S_FOLLOWER = 30.0
PRIOR_UNFOLLOW = np.array(  # (pressure bucket, relevant?) per push, within 48 h
    [[0.002, 0.001], [0.004, 0.002], [0.008, 0.004], [0.015, 0.008], [0.03, 0.015]]
)
S_UNFOLLOW = 300.0
PRIOR_BASE_HAZARD = 0.0005  # unfollows per follower-day with no push
S_BASE_DAYS = 2000.0
S_AMOUNT = 5.0  # pseudo-orders at the campaign's list price
HORIZON_DAYS_FLOOR = 30.0
S_HAZARD_DAYS = 3000.0  # pseudo follower-days behind each pressure level's daily hazard
PRIOR_READ = 0.1  # read-through of a push, before any reads are seen
S_READ = 200.0
AFTERMATH_DAYS = 42  # a push's pressure is followed this long (six half-lives)
PRESSURE_GRID = np.linspace(0.0, 24.0, 241)  # decayed pushes; harm curves are tabulated on it


@dataclass
class PlanContext:
    """Per-plan quantities shared by all campaigns (computed once per plan)."""

    evidence: np.ndarray  # (n, C) float32, decayed to now
    distance: np.ndarray  # (n,) int8 bucket
    pressure_bucket: np.ndarray  # (n,) int8 bucket of pressure after one more push
    follower_value: np.ndarray  # (n,) yuan
    follower_value_yuan: float  # the account-level dial (given or learned)
    p_unfollow: np.ndarray  # (n, 2) incremental unfollow probability, irrelevant/relevant push
    rng: np.random.Generator
    exploration: float
    attention_cost: np.ndarray | None = None  # (n,) yuan of later push revenue one more push costs


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
    that lift decays, and the daily hazard at the lifted pressure is learned above. This is
    what makes harm grow with pressure as fast as the data says it does."""
    h = daily_hazard(state)
    decay = _decay_steps()
    before = PRESSURE_GRID[:, None] * decay[None, :]
    after = before + decay[None, :]
    extra = h[bucket(after, HAZARD_EDGES)] - h[bucket(before, HAZARD_EDGES)]
    return np.maximum(extra, 0.0).sum(axis=1)


def attention_curve(state: FollowerState) -> np.ndarray:
    """Share of a later push's response lost to one more push now, summed over the following
    days, tabulated on ``PRESSURE_GRID``. The response is read-through of interesting pushes
    by the pressure they arrived at (reads are plentiful where orders are rare); with no
    reads seen it is flat and the curve is zero."""
    s = state.stats
    rate = (s.read_after[:, 1] + S_READ * PRIOR_READ) / (s.unf_sent[:, 1] + S_READ)
    rate = np.minimum.accumulate(rate)  # more pressure never makes a push read better
    g = rate / rate[0]
    decay = _decay_steps()[1:]
    before = PRESSURE_GRID[:, None] * decay[None, :] + 1.0
    after = before + decay[None, :]
    lost = g[bucket(before, PRESSURE_EDGES)] - g[bucket(after, PRESSURE_EDGES)]
    return np.maximum(lost, 0.0).sum(axis=1)


def learned_follower_value(state: FollowerState, rules: MerchantRules) -> float:
    """The dial, or when unset: observed revenue per follower-day x the follower's expected
    remaining days (1 / base unfollow rate, between the rules' horizon bounds), in yuan."""
    if rules.follower_value_yuan is not None:
        return float(rules.follower_value_yuan)
    s = state.stats
    if s.follower_days <= 0:
        return rules.min_follower_value_yuan
    per_day = s.revenue / s.follower_days
    # Expected remaining days as a follower: one over the base daily unfollow rate.
    base = float(daily_hazard(state)[0])  # rested followers' daily unfollow rate
    lo = max(rules.value_horizon_days, HORIZON_DAYS_FLOOR)
    horizon = min(max(1.0 / max(base, 1e-9), lo), max(rules.max_value_horizon_days, lo))
    return max(rules.min_follower_value_yuan, per_day * horizon)


def plan_context(
    state: FollowerState, now: float, rules: MerchantRules, rng: np.random.Generator
) -> PlanContext:
    evidence = state.evidence_at(now)
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
    # The follower's value: the dial, weighted by engagement (orders and evidence).
    v = learned_follower_value(state, rules)
    engagement = evidence.sum(axis=1) + np.float32(5.0) * state.orders
    mean_eng = float(engagement.mean()) if engagement.size else 0.0
    weight = np.clip((1.0 + engagement) / (1.0 + mean_eng), 0.5, 3.0).astype(np.float32)
    # Attention: revenue that pushes earn per follower-day, and the share of it one more
    # push now takes from later pushes (fatigued followers read and buy less).
    push_revenue_per_day = float(s.amount_sum.sum()) / max(s.follower_days, 1.0)
    attention = np.interp(now_pressure, PRESSURE_GRID, attention_curve(state)).astype(np.float32)
    attention_cost = attention * weight * np.float32(push_revenue_per_day)
    return PlanContext(
        evidence=evidence,
        distance=state.distance_bucket(),
        pressure_bucket=pb,
        follower_value=weight * np.float32(v),
        follower_value_yuan=v,
        p_unfollow=p_unf,
        rng=rng,
        exploration=rules.exploration,
        attention_cost=attention_cost,
    )


def conversion_cells(state: FollowerState, c: int) -> tuple[np.ndarray, np.ndarray]:
    """Posterior Beta parameters (alpha, beta) of the (relevance, distance) cells of category ``c``."""
    s = state.stats
    sent_r = s.conv_sent.sum(axis=(0, 2))
    orders_r = s.conv_orders.sum(axis=(0, 2))
    m_r = (orders_r + S_RELEVANCE * PRIOR_CONVERSION) / (sent_r + S_RELEVANCE)
    m_r = np.maximum.accumulate(m_r)  # more evidence of interest never converts worse
    sent_cr = s.conv_sent[c].sum(axis=1)
    orders_cr = s.conv_orders[c].sum(axis=1)
    m_cr = (orders_cr + S_CATEGORY * m_r) / (sent_cr + S_CATEGORY)
    alpha = s.conv_orders[c] + S_CELL * m_cr[:, None]
    beta = (s.conv_sent[c] - s.conv_orders[c]) + S_CELL * (1.0 - m_cr[:, None])
    return alpha, np.maximum(beta, 1e-6)


@dataclass
class CampaignEstimate:
    relevance: np.ndarray  # (n,) int8 bucket
    p_order: np.ndarray  # (n,) float32 posterior mean
    p_order_draw: np.ndarray  # (n,) float32 Thompson draw (the decision uses it)
    order_value: float  # yuan per attributed order
    p_unfollow: np.ndarray  # (n,) float32 incremental
    harm: np.ndarray  # (n,) float32 yuan: lost follower value plus lost attention


def estimate_campaign(
    state: FollowerState, ctx: PlanContext, c: int, list_price: float, draw: bool = True
) -> CampaignEstimate:
    """Estimates for pushing a campaign of category ``c`` (mean product price ``list_price``)."""
    s = state.stats
    ev = ctx.evidence[:, c]
    rel = bucket(ev, RELEVANCE_EDGES)
    orders_fc = state.cat_orders[:, c]
    rel[orders_fc > 0] = N_REL - 1
    alpha, beta = conversion_cells(state, c)
    mean_cells = (alpha / (alpha + beta)).astype(np.float32)
    if draw and ctx.exploration > 0:
        drawn = ctx.rng.beta(alpha, beta).astype(np.float32)
        draw_cells = mean_cells + np.float32(ctx.exploration) * (drawn - mean_cells)
    else:
        draw_cells = mean_cells
    flat = rel.astype(np.intp) * N_DIST + ctx.distance
    cell_mean = mean_cells.reshape(-1)[flat]
    pushes_fc = state.cat_pushes[:, c]
    strength = np.float32(S_FOLLOWER) + pushes_fc
    # Follower-level Beta: the cell as prior, the follower's own pushes and orders as data.
    p_mean = (np.float32(S_FOLLOWER) * cell_mean + orders_fc) / strength
    if draw and ctx.exploration > 0:
        cell_draw = draw_cells.reshape(-1)[flat]
        centre = (np.float32(S_FOLLOWER) * cell_draw + orders_fc) / strength
        # The follower's own Beta posterior, drawn as it is: for rare outcomes it is very
        # skewed (most draws near zero, a few large), so exploration tries a few followers
        # boldly rather than half of them timidly, as a symmetric approximation would.
        a = np.maximum(centre * strength, 1e-6)
        b = np.maximum((1 - centre) * strength, 1e-6)
        drawn_f = ctx.rng.beta(a, b).astype(np.float32)
        p_draw = np.clip(centre + np.float32(ctx.exploration) * (drawn_f - centre), 0.0, 1.0)
    else:
        p_draw = p_mean
    amount = (s.amount_sum[c] + S_AMOUNT * list_price) / (s.amount_n[c] + S_AMOUNT)
    relevant = rel >= 2
    p_unf = np.where(relevant, ctx.p_unfollow[:, 1], ctx.p_unfollow[:, 0])
    return CampaignEstimate(
        relevance=rel,
        p_order=p_mean.astype(np.float32),
        p_order_draw=p_draw.astype(np.float32),
        order_value=float(amount),
        p_unfollow=p_unf,
        harm=p_unf * ctx.follower_value
        + (ctx.attention_cost if ctx.attention_cost is not None else np.float32(0.0)),
    )
