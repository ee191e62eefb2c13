"""An account's followers in shards by follower id, planned shard by shard.

An account of tens of millions of followers outgrows one process: its follower state, and
the plan's arrays beside it, grow with the followers. Split by follower id, each shard
holds the rows of its own followers (:func:`shard_of`: a function of the openid alone, so
every event, delivery and control of a follower folds into the same shard) and plans them
as the whole account would, given what only the account knows:

1. **its pooled statistics** (:class:`~fencun.engine.state.PooledStats`): counts of
   contrasts, unfollows and follower-days. Each shard counts its own followers'; the
   account's are their sum (:func:`merge_stats`), and a shard plans on
   :func:`account_view` of its state;
2. **its means** (:class:`~fencun.engine.estimates.AccountSums`): each shard's, added
   (a shard's come with its :func:`~fencun.engine.estimates.context_basis`, which its
   plan then reuses);
3. **its one mass send of the day** (subscription accounts): each shard drafts
   (:func:`~fencun.engine.planner.draft`) and reports the net value of each campaign's
   candidates (:meth:`~fencun.engine.planner.PlanDraft.totals`); the sums pick the campaign
   (:func:`~fencun.engine.planner.choose_mass_campaign`), and each shard assigns with it.
   A service account's openid-list send needs two recipients in the whole account
   (:func:`~fencun.engine.planner.below_openid_list_minimum` of the shards' recipients).

The account's summaries are the sums of the shards' (:func:`merge_summaries`). The
recipients, reasons and controls stay in the shards, where their outbox rows are written.
What the account holds once (its catalog, the campaigns registered, the mass sends made
today: ``FollowerState.mass_sends_by_day``) every shard holds the same.

:class:`ShardPlanner` is a shard's side, :func:`plan_account` the coordinator's: the steps
in order, each run on every shard through a ``call`` the caller provides (in one process,
:func:`plan_shards`; across processes or machines, a transport of the caller's).

Deciding on posterior means (``explore=False``), a sharded plan is the whole account's
plan exactly: the same reason for every follower and the same summaries (sums added in
another order, in float64). With Thompson draws each shard draws its own (seed
``[seed, shard]``) and bounds its exploration by its own open rows: the same policy,
not the same draws.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from fencun.engine.clock import to_epoch
from fencun.engine.estimates import AccountSums, ContextBasis, context_basis
from fencun.engine.limits import load_platform_limits
from fencun.engine.planner import (
    Campaign,
    CampaignSummary,
    Plan,
    PlanDraft,
    SummaryParts,
    below_openid_list_minimum,
    campaign_summary,
    choose_mass_campaign,
    draft,
    priority_order,
)
from fencun.engine.rules import MerchantRules
from fencun.engine.state import COLUMNS, FollowerState, PooledStats

#: What every shard of an account holds the same (``FollowerState.to_arrays``' meta).
SHARED_META = (
    "categories",
    "stores",
    "datum",
    "scenes",
    "tag_names",
    "campaign_category",
    "product_category",
    "product_price",
    "mass_sends_by_day",
    "clock",
    "observed_from",
    "exposure_at",
)


def shard_of(openid_hashes: np.ndarray, shards: int) -> np.ndarray:
    """The shard (``0 .. shards - 1``) of each follower, from their openid hashes
    (``FollowerState.openid_hash``, :func:`~fencun.engine.state.openid_hash`): the hash
    modulo the number of shards. Doubling the number splits each shard in two: shard ``s``
    of ``n`` becomes ``s`` and ``s + n`` of ``2n``."""
    if shards < 1:
        raise ValueError(f"shards {shards}: at least 1")
    hashes = np.asarray(openid_hashes, dtype=np.uint64)
    shard: np.ndarray = (hashes % np.uint64(shards)).astype(np.int64)
    return shard


def merge_stats(parts: Sequence[PooledStats]) -> PooledStats:
    """The account's pooled statistics from its shards': every count summed."""
    if not parts:
        raise ValueError("no shards")
    out = PooledStats(parts[0].n_categories)
    for part in parts:
        if part.n_categories != out.n_categories:
            raise ValueError("shards of one account have the same categories")
        for name, value in vars(part).items():
            if name != "n_categories":
                setattr(out, name, getattr(out, name) + value)
    return out


def account_view(state: FollowerState, stats: PooledStats) -> FollowerState:
    """A shard's ``state`` seen with the account's pooled ``stats``, to plan on: a shallow
    copy sharing the shard's columns. The shard's own statistics stay in ``state``, where
    new events fold into them."""
    view = copy.copy(state)
    view.stats = stats
    return view


def join(states: Sequence[FollowerState]) -> FollowerState:
    """The account's state in one piece from its shards': their rows in shard order,
    receipts side by side, pooled statistics summed. What the account holds once
    (:data:`SHARED_META`: categories, stores, scene and tag names, catalog, mass sends,
    clock) must be the same in every shard; a ValueError says what differs."""
    if not states:
        raise ValueError("no shards")
    parts = [s.to_arrays() for s in states]
    metas = [json.loads(bytes(p["meta"]).decode("utf-8")) for p in parts]
    first = metas[0]
    for meta in metas[1:]:
        for key in SHARED_META:
            if json.dumps(meta[key], sort_keys=True) != json.dumps(first[key], sort_keys=True):
                raise ValueError(f"the shards differ in {key}")
        if set(meta["campaigns"]) != set(first["campaigns"]):
            raise ValueError("the shards differ in the campaigns registered")
    out: dict[str, np.ndarray] = {
        f"col_{name}": np.concatenate([p[f"col_{name}"] for p in parts]) for name in COLUMNS
    }
    out["openids"] = np.frombuffer(
        b"\n".join(bytes(p["openids"]) for p in parts if p["openids"].size), dtype=np.uint8
    )
    # Receipts: one row per campaign registered, in the first shard's order.
    order = [[m["campaigns"].index(c) for c in first["campaigns"]] for m in metas]
    for key in ("received", "received_at"):
        out[key] = np.concatenate([p[key][o] for p, o in zip(parts, order, strict=True)], axis=1)
    stats = merge_stats([s.stats for s in states])
    scalars: dict[str, float] = {}
    for name, value in vars(stats).items():
        if isinstance(value, np.ndarray):
            out[f"stats_{name}"] = value
        elif name != "n_categories":
            scalars[name] = float(value)
    meta = dict(first)
    meta["stats"] = scalars
    meta["unplaced_products"] = sorted(set().union(*(m["unplaced_products"] for m in metas)))
    meta["unplaced_campaigns"] = sorted(set().union(*(m["unplaced_campaigns"] for m in metas)))
    meta["ignored_events"] = sum(int(m["ignored_events"]) for m in metas)
    out["meta"] = np.frombuffer(json.dumps(meta).encode("utf-8"), dtype=np.uint8)
    return FollowerState.from_arrays(out)


def merge_summaries(
    campaigns: Sequence[Campaign],
    parts: Iterable[Sequence[SummaryParts]],
    account_type: str,
) -> list[CampaignSummary]:
    """The account's campaign summaries (in :func:`priority_order`, as a plan's) from each
    shard's ``Plan.summary_parts``."""
    total: dict[str, SummaryParts] = {}
    for shard in parts:
        for part in shard:
            mine = total.get(part.campaign_id)
            total[part.campaign_id] = part if mine is None else mine + part
    limits = load_platform_limits(account_type)
    return [campaign_summary(total[c.id], c, limits) for c in priority_order(campaigns)]


class ShardPlanner:
    """One shard's side of a sharded account's plan: it keeps the shard's state, and its
    draft between the steps, which :func:`plan_account` calls in this order, each with
    one argument: :meth:`stats`, :meth:`sums`, :meth:`draft`, :meth:`assign`,
    :meth:`finish`. Arguments as :func:`~fencun.engine.planner.draft`'s; ``seed`` is the
    shard's own (``[seed, shard]``)."""

    def __init__(
        self,
        state: FollowerState,
        campaigns: Sequence[Campaign],
        now: float | str,
        *,
        account_type: str = "subscription",
        rules: MerchantRules | None = None,
        seed: int | Sequence[int] = 0,
        explore: bool = True,
    ) -> None:
        self.state = state
        self.campaigns = list(campaigns)
        self.now = to_epoch(now)
        self.account_type = account_type
        self.rules = rules
        self.seed = seed
        self.explore = explore
        self._view: FollowerState | None = None
        self._basis: ContextBasis | None = None
        self._draft: PlanDraft | None = None
        #: The shard's plan (its followers' reasons), once finished.
        self.plan: Plan | None = None

    def stats(self, _: None = None) -> PooledStats:
        """Step 1: the shard's own pooled statistics."""
        return self.state.stats

    def sums(self, stats: PooledStats) -> AccountSums:
        """Step 2, given the account's pooled statistics: the shard's :class:`AccountSums`
        (from its context basis, kept for its plan)."""
        self._view = account_view(self.state, stats)
        self._basis = context_basis(self._view, self.now)
        return self._basis.sums

    def draft(self, sums: AccountSums) -> dict[str, float]:
        """Step 3, given the account's sums: draft the shard's plan; its per-campaign totals."""
        if self._view is None:
            raise ValueError("sums() first: the shard plans with the account's statistics")
        self._draft = draft(
            self._view,
            self.campaigns,
            self.now,
            account_type=self.account_type,
            rules=self.rules,
            seed=self.seed,
            explore=self.explore,
            account=sums,
            basis=self._basis,
        )
        self._basis = None
        return self._draft.totals()

    def assign(self, mass_campaign: str | None) -> dict[str, int]:
        """Step 4, given the account's one mass send (or None): the shard's recipients."""
        if self._draft is None:
            raise ValueError("draft() first")
        return self._draft.assign(mass_campaign)

    def finish(self, below_minimum: Sequence[str]) -> list[SummaryParts]:
        """Step 5, given the campaigns below the openid-list minimum: the shard's plan
        (kept in :attr:`plan`) and its summaries as sums."""
        if self._draft is None:
            raise ValueError("assign() first")
        self.plan = self._draft.finish(below_minimum)
        self._draft = None
        return self.plan.summary_parts


#: ``call(step, argument)`` runs ``ShardPlanner.<step>(argument)`` on every shard and
#: returns the results in shard order.
Call = Callable[[str, Any], list[Any]]


@dataclass
class AccountPlan:
    """What the coordinator of a sharded plan knows once it is made."""

    mass_campaign: str | None  # the account's one mass send of the day, if it chose one
    totals: dict[str, float]  # per campaign: its candidates' net value, yuan (PlanDraft.totals)
    recipients: dict[str, int]  # per campaign, before the openid-list minimum
    below_minimum: list[str]
    summaries: list[CampaignSummary]  # the account's, in priority order


def _added(parts: Iterable[Mapping[str, float]]) -> dict[str, float]:
    out: dict[str, float] = {}
    for part in parts:
        for key, value in part.items():
            out[key] = out.get(key, 0) + value
    return out


def plan_account(call: Call, campaigns: Sequence[Campaign], account_type: str) -> AccountPlan:
    """Plan a sharded account: the steps of :class:`ShardPlanner` in order on every shard
    through ``call``, the account's figures added in between (see the module docstring)."""
    stats = merge_stats(call("stats", None))
    sums = sum(call("sums", stats), AccountSums())
    totals = _added(call("draft", sums))
    mass_campaign = choose_mass_campaign(campaigns, totals, account_type)
    recipients = {k: int(v) for k, v in _added(call("assign", mass_campaign)).items()}
    below = below_openid_list_minimum(campaigns, recipients, account_type)
    summaries = merge_summaries(campaigns, call("finish", below), account_type)
    return AccountPlan(mass_campaign, totals, recipients, below, summaries)


def plan_shards(
    planners: Sequence[ShardPlanner], campaigns: Sequence[Campaign], account_type: str
) -> AccountPlan:
    """:func:`plan_account` over shards in this process; each shard's plan is then in its
    planner's :attr:`ShardPlanner.plan`."""

    def call(step: str, argument: Any) -> list[Any]:
        return [getattr(p, step)(argument) for p in planners]

    return plan_account(call, campaigns, account_type)
