"""Follower state: the engine's columnar view of an account's followers, folded from events.

One row per follower, numpy columns. Production builds it from the event log and the
backtest from a world's events, through the same three calls:

* :meth:`FollowerState.observe` folds event dicts (DESIGN.md: ``{"kind", "openid", "at",
  ...}``; kinds ``subscribe``, ``unsubscribe``, ``location``, ``text``, ``click``, ``view``,
  ``scan``, ``read``, ``link_click``, ``order``, ``tags``; unknown kinds are counted and
  ignored) and advances the clock to ``now``;
* :meth:`FollowerState.record_deliveries` folds what was sent (delivery dicts
  ``{"openid", "campaign", "at", "category", "products", "channel"?}``);
* :meth:`FollowerState.from_events` does both from scratch.

Besides per-follower columns the state keeps the pooled statistics the estimates are
learned from (:class:`PooledStats`): deliveries and attributed orders by category x
relevance x distance, and deliveries and unfollows by attention pressure x relevance.
Everything is learned from observed events only.

Units: times are epoch seconds (NaN = never), distances km, money yuan.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from fencun.engine import geo
from fencun.engine.catalog import Category, match_categories
from fencun.engine.clock import DAY, HOUR, local_day_number, local_month_key, to_epoch
from fencun.engine.consent import consent_change

# Interest evidence added per signal, in "reads".
EVIDENCE_WEIGHTS: dict[str, float] = {
    "read": 1.0,
    "link_click": 2.0,
    "click": 1.5,
    "view": 0.5,
    "text": 2.0,
    "order": 5.0,
}
# Tastes in what a shop sells last: evidence fades over years, and interest that went
# stale shows in the pushes of the category left unanswered since (a cell dimension).
EVIDENCE_HALF_LIFE_DAYS = 730.0
PRESSURE_HALF_LIFE_DAYS = 7.0
PUSH_RING = 8  # push times kept per follower; enough for any weekly cap up to 8
#: Channels other than the Official Account. A delivery on one of them reaches the same
#: person (joined by unionid) and spends the one attention budget; it counts against its
#: own platform's limits, never the Official Account's. One without a campaign (sent
#: outside fencun's plans, e.g. by a member in WeCom) spends only the attention budget.
OTHER_CHANNELS = frozenset({"wecom"})
UNFOLLOW_ATTRIBUTION_HOURS = 48.0
ORDER_ATTRIBUTION_DAYS = 7.0
ATTENTION_DAYS = 14.0  # a push's effect on how the next one is read is followed this long

# Buckets that pool followers for the estimates (see estimates.py).
RELEVANCE_EDGES = (0.05, 1.5, 4.0)  # evidence -> 0 none, 1 weak (any sign at all), 2 some, 3 strong
DISTANCE_EDGES = (10.0, 40.0)  # km -> 1 near, 2 mid, 3 far; 0 = unknown
UNANSWERED_EDGES = (0.5, 1.5)  # pushes of the category since the last sign of interest -> 0, 1, 2+
HISTORY_EDGES = (0.5, 1.5)  # orders ever (imported history included) -> 0, 1, 2+
RECENCY_EDGES = (14.0, 60.0)  # days since the last interaction -> 0 recent, 1, 2 long ago/never
PRESSURE_EDGES = (1.5, 2.5, 3.5, 5.0)  # decayed pushes after this one -> 0..4
HAZARD_EDGES = (0.5, 1.5, 2.5, 3.5, 5.0, 7.0)  # decayed pushes now -> 0..6 (daily hazard)
N_REL, N_DIST, N_PRESSURE, N_HAZARD = 4, 4, 5, 7
N_UNANSWERED, N_HISTORY, N_RECENCY = 3, 3, 3
N_ELSEWHERE = 2  # interest shown in another category: 0 no, 1 yes
#: The uplift cells of one category, coarse to fine: what the estimates pool over, in the
#: order they back off (relevance first, recency last). See estimates.py.
CELL_SHAPE = (N_REL, N_ELSEWHERE, N_UNANSWERED, N_HISTORY, N_DIST, N_RECENCY)
N_CELLS = int(np.prod(CELL_SHAPE))
TREATED, CONTROL = 0, 1  # arms of the randomized contrasts
_CELLS_PER_REL = N_CELLS // N_REL  # the relevance bucket is the cell's leading dimension
#: Events folded per call of :meth:`FollowerState.observe` when folding a stream: bounds
#: memory; the clock (and the follower-days it counts) advances at each batch's end.
FOLD_BATCH = 200_000

# WeChat subscribe scenes (user/info ``subscribe_scene``) and the short names segments use.
SCENE_ALIASES: dict[str, str] = {
    "search": "ADD_SCENE_SEARCH",
    "migration": "ADD_SCENE_ACCOUNT_MIGRATION",
    "card": "ADD_SCENE_PROFILE_CARD",
    "qrcode": "ADD_SCENE_QR_CODE",
    "link": "ADD_SCENE_PROFILE_LINK",
    "item": "ADD_SCENE_PROFILE_ITEM",
    "paid": "ADD_SCENE_PAID",
    "ad": "ADD_SCENE_WECHAT_ADVERTISEMENT",
    "reprint": "ADD_SCENE_REPRINT",
    "livestream": "ADD_SCENE_LIVESTREAM",
    "channels": "ADD_SCENE_CHANNELS",
    "other": "ADD_SCENE_OTHERS",
}


def channel_of(event: Mapping[str, Any]) -> str:
    """The QR scene value a subscribe event came through: its ``scene_value`` (as the
    gateway stores it), or what follows ``qrscene_`` in its ``scene`` (the EventKey as
    worlds and raw callbacks give it); "" for a subscription not through a code."""
    value = event.get("scene_value")
    if isinstance(value, str) and value:
        return value
    scene = event.get("scene")
    if isinstance(scene, str) and scene.lower().startswith("qrscene_"):
        return scene[len("qrscene_") :]
    return ""


def normalise_scene(scene: str) -> str:
    """``qrscene_42`` (a QR subscribe EventKey) and aliases map to the ``ADD_SCENE_*`` names."""
    scene = scene.strip()
    if scene.lower().startswith("qrscene_") or scene.upper() in ("SCAN", "QRCODE"):
        return "ADD_SCENE_QR_CODE"
    return SCENE_ALIASES.get(scene.lower(), scene.upper() if scene else "")


def openid_hash(openid: str) -> int:
    """A stable 64-bit hash of an openid (holdouts hash this with the campaign id)."""
    return int.from_bytes(hashlib.blake2b(openid.encode("utf-8"), digest_size=8).digest(), "little")


def bucket(values: np.ndarray, edges: tuple[float, ...]) -> np.ndarray:
    """Bucket index per value (``searchsorted`` right); NaN lands in the last bucket, callers mask it."""
    return np.searchsorted(np.asarray(edges, dtype=values.dtype), values, side="right").astype(
        np.int8
    )


def hazard_days(pressure: np.ndarray, since: np.ndarray, a: float, b: float) -> np.ndarray:
    """Days spent in each hazard level (``HAZARD_EDGES``) during ``[a, b]`` by followers
    whose pressure was ``pressure`` at ``since`` and only decays after (constant before);
    shape (rows, N_HAZARD)."""
    pressure = np.asarray(pressure, dtype=np.float64)
    since = np.asarray(since, dtype=np.float64)
    half_life = PRESSURE_HALF_LIFE_DAYS * DAY
    edges = np.asarray(HAZARD_EDGES)
    with np.errstate(divide="ignore", invalid="ignore"):
        # Until when the pressure is at least each edge (-inf: never).
        until = since[:, None] + half_life * np.log2(pressure[:, None] / edges[None, :])
    until = np.where(pressure[:, None] >= edges[None, :], until, -np.inf)
    above = np.clip(until, a, b) - a  # time at or above each edge, (rows, edges)
    total = np.full((len(pressure), 1), b - a)
    at_least = np.concatenate([total, above, np.zeros((len(pressure), 1))], axis=1)
    spent: np.ndarray = (at_least[:, :-1] - at_least[:, 1:]) / DAY
    return spent


@dataclass
class PooledStats:
    """Counts pooled over followers; the estimates' evidence. Shapes in the comments."""

    n_categories: int
    # Randomized contrasts by arm (TREATED, CONTROL) x category x cell: observations
    # (a push, or a control kept back from one), and what followed within the window:
    # revenue of the category's orders (and its square, for the variance) and orders.
    up_n: np.ndarray = field(init=False)  # (2, C, N_CELLS)
    up_y: np.ndarray = field(init=False)  # (2, C, N_CELLS) yuan
    up_y2: np.ndarray = field(init=False)  # (2, C, N_CELLS) yuan^2
    up_o: np.ndarray = field(init=False)  # (2, C, N_CELLS) orders
    amount_sum: np.ndarray = field(init=False)  # (C,) yuan of attributed orders
    amount_n: np.ndarray = field(init=False)  # (C,)
    unf_sent: np.ndarray = field(init=False)  # (N_PRESSURE, 2) deliveries by pressure x relevant
    unf_after: np.ndarray = field(init=False)  # (N_PRESSURE, 2) unfollows within 48 h of them
    # Attention, by randomized contrast: after a push (or a holdout kept back from one) of
    # relevance bucket r, the follower's next push within ATTENTION_DAYS, by arm x r, and
    # how many of those next pushes were read.
    att_n: np.ndarray = field(init=False)  # (2, N_REL)
    att_read: np.ndarray = field(init=False)  # (2, N_REL)
    haz_days: np.ndarray = field(init=False)  # (N_HAZARD,) subscribed follower-days by pressure
    haz_unf: np.ndarray = field(init=False)  # (N_HAZARD,) unfollows by pressure at the time
    base_unfollows: float = 0.0  # unfollows with no push in the 48 h before
    follower_days: float = 0.0  # subscribed follower-days observed
    revenue: float = 0.0  # orders of subscribed followers while observed, yuan (the value)
    orders: int = 0

    def __post_init__(self) -> None:
        c = self.n_categories
        self.up_n = np.zeros((2, c, N_CELLS))
        self.up_y = np.zeros((2, c, N_CELLS))
        self.up_y2 = np.zeros((2, c, N_CELLS))
        self.up_o = np.zeros((2, c, N_CELLS))
        self.amount_sum = np.zeros(c)
        self.amount_n = np.zeros(c)
        self.unf_sent = np.zeros((N_PRESSURE, 2))
        self.unf_after = np.zeros((N_PRESSURE, 2))
        self.att_n = np.zeros((2, N_REL))
        self.att_read = np.zeros((2, N_REL))
        self.haz_days = np.zeros(N_HAZARD)
        self.haz_unf = np.zeros(N_HAZARD)


# name -> (dtype, per-row shape suffix ("C" = categories), fill value)
COLUMNS: dict[str, tuple[Any, tuple[Any, ...], Any]] = {
    "openid_hash": (np.uint64, (), 0),
    "subscribed": (np.bool_, (), False),
    "subscribed_at": (np.float64, (), np.nan),
    "subscription_changed_at": (np.float64, (), -np.inf),
    "scene": (np.int16, (), -1),
    # The channel QR code of the latest subscription: its scene value (``store42`` for the
    # EventKey ``qrscene_store42``), an index into ``channels``.
    "channel": (np.int16, (), -1),
    # The follower chose no personalisation: decided on non-personal rules only.
    "impersonal": (np.bool_, (), False),
    "lat": (np.float64, (), np.nan),
    "lng": (np.float64, (), np.nan),
    "distance_km": (np.float32, (), np.nan),
    "last_interaction_at": (np.float64, (), np.nan),
    "last_message_at": (np.float64, (), np.nan),
    "cs_sent_since_message": (np.int16, (), 0),
    "push_times": (np.float64, (PUSH_RING,), np.nan),
    "push_count": (np.int32, (), 0),
    "last_push_at": (np.float64, (), np.nan),
    "last_push_pressure": (np.int8, (), 0),
    "last_push_relevant": (np.int8, (), 0),
    "last_push_read": (np.bool_, (), False),
    # The attention contrast: the arm and relevance of the last push or holdout, and when;
    # and the contrast cell (arm * N_REL + r) the latest push is counted in, until read.
    "att_arm": (np.int8, (), -1),
    "att_rel": (np.int8, (), 0),
    "att_at": (np.float64, (), np.nan),
    "att_wait": (np.int8, (), -1),
    "month_key": (np.int32, (), 0),
    "month_count": (np.int16, (), 0),
    "pressure": (np.float32, (), 0.0),
    "pressure_at": (np.float64, (), 0.0),
    "evidence": (np.float32, ("C",), 0.0),
    "evidence_at": (np.float64, (), 0.0),
    "cat_last_push": (np.float64, ("C",), np.nan),
    "cat_pushes": (np.float32, ("C",), 0.0),
    "unanswered": (np.float32, ("C",), 0.0),  # pushes of the category since it last showed interest
    # The open outcome window per category: when it opened, the arm and the cell then.
    "win_at": (np.float64, ("C",), np.nan),
    "win_arm": (np.int8, ("C",), -1),
    "win_cell": (np.int16, ("C",), 0),
    "reads": (np.float32, (), 0.0),
    "orders": (np.float32, (), 0.0),
    "revenue": (np.float64, (), 0.0),
    "tag_bits": (np.uint64, (2,), 0),
    # WeCom: an active external contact of the merchant's corp, and the local day number of
    # the last WeCom mass message (the platform's per-customer daily cap).
    "wecom_contact": (np.bool_, (), False),
    "wecom_day": (np.int32, (), -1),
    # The latest reply that refused marketing (退订, TD) and the latest that took it back.
    "opted_out_at": (np.float64, (), np.nan),
    "opted_in_at": (np.float64, (), np.nan),
}


class FollowerState:
    """Columnar follower state of one account. Rows are never removed; ``n`` rows are live.

    ``categories``: the merchant's categories (ids used by campaigns and deliveries).
    ``stores``: ``[(lat, lng), ...]`` in GCJ-02, for distances. ``datum``: the datum of
    incoming location events unless an event says otherwise.
    """

    def __init__(
        self,
        categories: list[Category],
        stores: list[tuple[float, float]] | None = None,
        datum: str = geo.GCJ02,
        capacity: int = 1024,
    ) -> None:
        if not categories:
            raise ValueError("a follower state needs at least one category")
        self.categories = list(categories)
        self.category_index = {c.id: i for i, c in enumerate(self.categories)}
        self.stores = list(stores or [])
        self.datum = datum
        self.n = 0
        self.openids: list[str] = []
        self.index: dict[str, int] = {}
        self.scenes: list[str] = []
        self.channels: list[str] = []  # QR scene values, by code
        self.tag_names: list[str] = []  # bit position -> tag name
        self.wecom_tag_rows: dict[str, np.ndarray] = {}  # WeCom corp tag name -> rows
        self.campaign_category: dict[str, int] = {}
        self.product_category: dict[str, int] = {}
        self.product_price: dict[str, float] = {}  # yuan, from the campaigns registered
        # Products and campaigns named by events folded before they were registered: an
        # incremental fold must rebuild if one of them is registered later.
        self.unplaced_products: set[str] = set()
        self.unplaced_campaigns: set[str] = set()
        self.received: dict[str, np.ndarray] = {}  # campaign id -> bool per row
        self.received_at: dict[str, np.ndarray] = {}
        self.mass_sends_by_day: dict[int, set[str]] = {}  # local day -> campaign ids sent by mass
        self.stats = PooledStats(len(self.categories))
        self.clock = np.nan  # the latest ``now`` observed
        self.observed_from = np.nan  # follower-days (and the value's revenue) count from here
        self.exposure_at = np.nan  # follower-days by pressure are counted up to here
        self.ignored_events = 0
        self._capacity = 0
        self._alloc(max(capacity, 16))

    # ----- storage -------------------------------------------------------------------
    def _alloc(self, capacity: int) -> None:
        c = len(self.categories)
        for name, (dtype, suffix, fill) in COLUMNS.items():
            shape = (capacity, *(c if s == "C" else s for s in suffix))
            fresh = np.full(shape, fill, dtype=dtype)
            if self._capacity:
                fresh[: self.n] = getattr(self, "_" + name)[: self.n]
            setattr(self, "_" + name, fresh)
        for key, arr in list(self.received.items()):
            fresh_b = np.zeros(capacity, dtype=np.bool_)
            fresh_b[: self.n] = arr[: self.n]
            self.received[key] = fresh_b
            fresh_t = np.full(capacity, np.nan)
            fresh_t[: self.n] = self.received_at[key][: self.n]
            self.received_at[key] = fresh_t
        self._capacity = capacity

    def __getattr__(self, name: str) -> np.ndarray:
        # Public column views trimmed to the live rows: state.subscribed, state.evidence, ...
        if name in COLUMNS:
            column: np.ndarray = self.__dict__["_" + name][: self.__dict__["n"]]
            return column
        raise AttributeError(name)

    def __len__(self) -> int:
        return self.n

    @property
    def opted_out(self) -> np.ndarray:
        """Followers whose latest word on marketing refused it (:mod:`fencun.engine.consent`)."""
        out, back = self.opted_out_at, self.opted_in_at
        with np.errstate(invalid="ignore"):
            return ~np.isnan(out) & ~(back >= out)  # type: ignore[no-any-return]

    def row(self, openid: str, create: bool = True) -> int:
        """Row index of ``openid`` (created, unsubscribed, if new and ``create``); -1 if absent."""
        i = self.index.get(openid)
        if i is not None:
            return i
        if not create:
            return -1
        if self.n == self._capacity:
            self._alloc(self._capacity * 2)
        i = self.n
        self.n += 1
        self.openids.append(openid)
        self.index[openid] = i
        self._openid_hash[i] = openid_hash(openid)
        return i

    def add_followers(
        self,
        openids: Iterable[str],
        subscribed_at: float | str | None = None,
        scene: str = "",
        channel: str = "",
    ) -> np.ndarray:
        """Register followers known from the user list API (subscribed; age unknown if no
        time); ``channel``: the QR scene value they subscribed through, if any."""
        rows = np.fromiter((self.row(o) for o in openids), dtype=np.int64)
        ts = np.nan if subscribed_at is None else to_epoch(subscribed_at)
        self._subscribed[rows] = True
        self._subscribed_at[rows] = ts
        if scene:
            self._scene[rows] = self._scene_code(scene)
        if channel:
            self._channel[rows] = self._channel_code(channel)
        return rows

    def add_columns(self, openids: list[str], columns: Mapping[str, Any]) -> np.ndarray:
        """Bulk-load rows from a snapshot: ``columns`` maps column names (see ``COLUMNS``) to
        arrays aligned with ``openids``. The fast path for rebuilding a large state."""
        unknown = set(columns) - set(COLUMNS)
        if unknown:
            raise ValueError(f"unknown columns: {sorted(unknown)}")
        start = self.n
        need = start + len(openids)
        if need > self._capacity:
            self._alloc(max(need, self._capacity * 2))
        for i, openid in enumerate(openids, start):
            if openid in self.index:
                raise ValueError(f"openid {openid!r} already present")
            self.index[openid] = i
        self.openids.extend(openids)
        self.n = need
        self._openid_hash[start:need] = np.fromiter(
            (openid_hash(o) for o in openids), np.uint64, len(openids)
        )
        for name, values in columns.items():
            getattr(self, "_" + name)[start:need] = values
        return np.arange(start, need)

    def set_wecom_contacts(self, keys: Iterable[str]) -> np.ndarray:
        """Mark the people reachable through WeCom customer contact (the only ones, from now).

        ``keys`` are person keys: the openid of a follower who is also an external contact
        (joined by unionid), or any other key for a contact who does not follow the account
        (a new, unsubscribed row, so Official Account campaigns never reach it)."""
        rows = np.fromiter((self.row(k) for k in keys), dtype=np.int64)
        self._wecom_contact[: self.n] = False
        self._wecom_contact[rows] = True
        return rows

    def _scene_code(self, scene: str) -> int:
        scene = normalise_scene(scene)
        if not scene:
            return -1
        if scene not in self.scenes:
            self.scenes.append(scene)
        return self.scenes.index(scene)

    def set_impersonal(self, openids: Iterable[str]) -> None:
        """The followers who chose no personalisation (the only ones, from now)."""
        self._impersonal[: self.n] = False
        rows = [self.index[o] for o in openids if o in self.index]
        self._impersonal[np.asarray(rows, dtype=np.int64)] = True

    def _channel_code(self, value: str) -> int:
        if value not in self.channels:
            self.channels.append(value)
        return self.channels.index(value)

    def channel_mask(self, value: str) -> np.ndarray:
        """Followers whose latest subscription came through the QR scene ``value``."""
        if value not in self.channels:
            return np.zeros(self.n, dtype=np.bool_)
        in_channel: np.ndarray = self._channel[: self.n] == self.channels.index(value)
        return in_channel

    def set_tags(self, openid: str, tags: Iterable[str]) -> None:
        """Replace a follower's WeChat tags (from the tag API or a ``tags`` event)."""
        i = self.row(openid)
        bits = [0, 0]
        for tag in tags:
            if tag not in self.tag_names:
                if len(self.tag_names) >= 128:
                    raise ValueError("more than 128 distinct tags (WeChat allows 100 per account)")
                self.tag_names.append(tag)
            pos = self.tag_names.index(tag)
            bits[pos // 64] |= 1 << (pos % 64)
        self._tag_bits[i] = np.array(bits, dtype=np.uint64)

    def tag_mask(self, tag: str) -> np.ndarray:
        """Boolean per row: has ``tag``."""
        if tag not in self.tag_names:
            return np.zeros(self.n, dtype=np.bool_)
        pos = self.tag_names.index(tag)
        word = self._tag_bits[: self.n, pos // 64]
        mask: np.ndarray = (word >> np.uint64(pos % 64)) & np.uint64(1) == np.uint64(1)
        return mask

    def set_wecom_tags(self, members: Mapping[str, Iterable[str]]) -> None:
        """Replace the WeCom corp tags: tag name -> person keys of the customers with it.
        Kept apart from the WeChat tags: a corp may have thousands of tags."""
        self.wecom_tag_rows = {
            name: np.unique(np.fromiter((self.row(k) for k in keys), dtype=np.int64))
            for name, keys in members.items()
        }

    def wecom_tag_mask(self, tag: str) -> np.ndarray:
        """Boolean per row: a customer with the WeCom corp tag ``tag``."""
        mask = np.zeros(self.n, dtype=np.bool_)
        rows = self.wecom_tag_rows.get(tag)
        if rows is not None:
            mask[rows] = True
        return mask

    # ----- derived columns at a time ---------------------------------------------------
    def evidence_at(self, now: float) -> np.ndarray:
        """Interest evidence per (row, category), decayed to ``now``; float32 (n, C)."""
        evidence: np.ndarray = self.evidence * self._evidence_decay(now)[:, None]
        return evidence

    def _evidence_decay(self, now: float) -> np.ndarray:
        age = np.maximum(now - self.__dict__["_evidence_at"][: self.n], 0.0)
        decay: np.ndarray = np.exp2(-age / (EVIDENCE_HALF_LIFE_DAYS * DAY)).astype(np.float32)
        return decay

    def uplift_cells(self, c: int, now: float, rows: np.ndarray | None = None) -> np.ndarray:
        """The uplift cell (a flat index into ``CELL_SHAPE``) of each row for a push of
        category ``c`` at ``now``: what the follower looks like to the estimates, computed
        the same way when a push or a control is recorded and when a plan is made."""
        return self.uplift_cells_of((c,), now, rows)[0]

    def uplift_cells_of(
        self,
        categories: Iterable[int],
        now: float,
        rows: np.ndarray | None = None,
        evidence: np.ndarray | None = None,
    ) -> list[np.ndarray]:
        """:meth:`uplift_cells` for several categories, sharing what they have in common;
        ``evidence`` is :meth:`evidence_at` of ``now`` when the caller has it already."""
        sel = slice(None) if rows is None else rows
        if evidence is None:
            decay = np.exp2(
                -np.maximum(now - self._evidence_at[: self.n][sel], 0.0)
                / (EVIDENCE_HALF_LIFE_DAYS * DAY)
            ).astype(np.float32)
            evidence = self._evidence[: self.n][sel] * decay[:, None]
        # Interest shown elsewhere: a follower whose known interests leave this category
        # out is less likely to care for it than one the engine knows nothing about.
        known = evidence >= np.float32(RELEVANCE_EDGES[0])
        n_known = known.sum(axis=1, dtype=np.int16)
        history = bucket(self._orders[: self.n][sel], HISTORY_EDGES)
        d = self._distance_km[: self.n][sel]
        dist = (1 + bucket(d, DISTANCE_EDGES)).astype(np.int8)
        dist[np.isnan(d)] = 0
        with np.errstate(invalid="ignore"):
            days = (now - self._last_interaction_at[: self.n][sel]) / DAY
        recency = bucket(np.where(np.isnan(days), np.inf, days), RECENCY_EDGES)
        out = []
        for c in categories:
            rel = bucket(evidence[:, c], RELEVANCE_EDGES)
            elsewhere = (n_known - known[:, c] > 0).astype(np.int8)
            unanswered = bucket(self._unanswered[: self.n, c][sel], UNANSWERED_EDGES)
            out.append(
                np.ravel_multi_index(
                    (rel, elsewhere, unanswered, history, dist, recency), CELL_SHAPE
                ).astype(np.int16)
            )
        return out

    def interest(self, now: float) -> np.ndarray:
        """Interest score in [0, 1) per (row, category): ``1 - exp(-evidence / 2)``."""
        return -np.expm1(-self.evidence_at(now) / 2.0)

    def pressure_now(self, now: float) -> np.ndarray:
        """Attention pressure: pushes received, decayed with a 7-day half-life; float32."""
        age = np.maximum(now - self.pressure_at, 0.0)
        return (self.pressure * np.exp2(-age / (PRESSURE_HALF_LIFE_DAYS * DAY))).astype(np.float32)

    def pushes_within(self, now: float, seconds: float) -> np.ndarray:
        """Pushes received in ``(now - seconds, now]`` per row (at most ``PUSH_RING``)."""
        times = self.push_times
        pushes: np.ndarray = ((times > now - seconds) & (times <= now)).sum(axis=1, dtype=np.int16)
        return pushes

    def month_count_at(self, now: float) -> np.ndarray:
        """Mass messages received in the local calendar month of ``now``."""
        return np.where(self.month_key == local_month_key(now), self.month_count, 0).astype(
            np.int16
        )

    def mass_sends_on_day(self, now: float) -> int:
        """Mass sends the account made on the local day of ``now``."""
        return len(self.mass_sends_by_day.get(local_day_number(now), ()))

    def received_mask(self, campaign_id: str) -> np.ndarray:
        arr = self.received.get(campaign_id)
        return np.zeros(self.n, dtype=np.bool_) if arr is None else arr[: self.n]

    # ----- serialisation ---------------------------------------------------------------
    def to_arrays(self) -> dict[str, np.ndarray]:
        """The whole state as named numpy arrays (for ``np.savez``): the columns trimmed to
        the live rows, per-campaign receipts, the pooled statistics, and everything else
        (categories, stores, names, scalars) as one JSON document in ``meta``.

        WeCom corp tags are not included: they are the corp's current membership, set on
        the state after it is loaded (see :meth:`set_wecom_tags`)."""
        n = self.n
        out: dict[str, np.ndarray] = {f"col_{name}": self.__dict__["_" + name][:n] for name in COLUMNS}
        out["openids"] = np.frombuffer("\n".join(self.openids).encode("utf-8"), dtype=np.uint8)
        campaigns = list(self.received_at)
        out["received"] = (
            np.stack([self.received[c][:n] for c in campaigns]) if campaigns else np.zeros((0, n), np.bool_)
        )
        out["received_at"] = (
            np.stack([self.received_at[c][:n] for c in campaigns]) if campaigns else np.zeros((0, n))
        )
        scalars: dict[str, float] = {}
        for name, value in vars(self.stats).items():
            if isinstance(value, np.ndarray):
                out[f"stats_{name}"] = value
            elif name != "n_categories":
                scalars[name] = float(value)
        meta = {
            "categories": [[c.id, c.name, list(c.keywords)] for c in self.categories],
            "stores": [list(st) for st in self.stores],
            "datum": self.datum,
            "scenes": self.scenes,
            "channels": self.channels,
            "tag_names": self.tag_names,
            "campaigns": campaigns,
            "campaign_category": self.campaign_category,
            "product_category": self.product_category,
            "product_price": self.product_price,
            "unplaced_products": sorted(self.unplaced_products),
            "unplaced_campaigns": sorted(self.unplaced_campaigns),
            "mass_sends_by_day": {str(d): sorted(ids) for d, ids in self.mass_sends_by_day.items()},
            "stats": scalars,
            "clock": self.clock,
            "observed_from": self.observed_from,
            "exposure_at": self.exposure_at,
            "ignored_events": self.ignored_events,
        }
        out["meta"] = np.frombuffer(json.dumps(meta).encode("utf-8"), dtype=np.uint8)
        return out

    @classmethod
    def from_arrays(cls, arrays: Mapping[str, np.ndarray], headroom: int = 1024) -> FollowerState:
        """The state :meth:`to_arrays` wrote, with room for ``headroom`` more rows."""
        meta = json.loads(bytes(arrays["meta"]).decode("utf-8"))
        categories = [Category(id=i, name=name, keywords=tuple(kw)) for i, name, kw in meta["categories"]]
        state = cls(
            categories,
            [(float(a), float(b)) for a, b in meta["stores"]],
            datum=meta["datum"],
            capacity=16,
        )
        raw = bytes(arrays["openids"]).decode("utf-8")
        openids = raw.split("\n") if raw else []
        n = len(openids)
        capacity = n + max(headroom, 16)
        c = len(categories)
        for name, (dtype, suffix, fill) in COLUMNS.items():
            # One pass over the rows that are loaded, not two: only the headroom is filled.
            column = np.empty((capacity, *(c if x == "C" else x for x in suffix)), dtype=dtype)
            column[:n] = arrays[f"col_{name}"]
            column[n:] = fill
            setattr(state, "_" + name, column)
        state._capacity = capacity
        state.n = n
        state.openids = openids
        state.index = dict(zip(openids, range(n), strict=True))
        state.scenes = list(meta["scenes"])
        state.channels = list(meta.get("channels", []))
        state.tag_names = list(meta["tag_names"])
        state.campaign_category = {k: int(v) for k, v in meta["campaign_category"].items()}
        state.product_category = {k: int(v) for k, v in meta["product_category"].items()}
        state.product_price = {k: float(v) for k, v in meta["product_price"].items()}
        state.unplaced_products = set(meta["unplaced_products"])
        state.unplaced_campaigns = set(meta["unplaced_campaigns"])
        for k, cid in enumerate(meta["campaigns"]):
            received = np.zeros(capacity, dtype=np.bool_)
            received[:n] = arrays["received"][k]
            received_at = np.full(capacity, np.nan)
            received_at[:n] = arrays["received_at"][k]
            state.received[cid] = received
            state.received_at[cid] = received_at
        state.mass_sends_by_day = {int(d): set(ids) for d, ids in meta["mass_sends_by_day"].items()}
        for name, value in meta["stats"].items():
            setattr(state.stats, name, int(value) if name == "orders" else float(value))
        for name in vars(state.stats):
            if f"stats_{name}" in arrays:
                setattr(state.stats, name, np.array(arrays[f"stats_{name}"], dtype=np.float64))
        state.clock = float(meta["clock"])
        state.observed_from = float(meta["observed_from"])
        state.exposure_at = float(meta["exposure_at"])
        state.ignored_events = int(meta["ignored_events"])
        return state

    # ----- folding events --------------------------------------------------------------
    @classmethod
    def from_events(
        cls,
        events: Iterable[Mapping[str, Any]],
        categories: list[Category],
        stores: list[tuple[float, float]] | None = None,
        deliveries: Iterable[Mapping[str, Any]] = (),
        now: float | str | None = None,
        datum: str = geo.GCJ02,
        campaigns: Iterable[tuple[str, str, Iterable[Mapping[str, Any]]]] = (),
    ) -> FollowerState:
        """Build a state from an event log and the deliveries made, merged in time order.
        ``campaigns`` (id, category, products) are registered first, so that reads,
        clicks and orders naming them or their products count as interest."""
        state = cls(categories, stores, datum=datum)
        for campaign_id, category, products in campaigns:
            state.register_campaign(campaign_id, category, products)
        state.fold(events, deliveries, now=now)
        return state

    def fold(
        self,
        events: Iterable[Mapping[str, Any]],
        deliveries: Iterable[Mapping[str, Any]] = (),
        now: float | str | None = None,
        *,
        presorted: bool = False,
        batch_size: int = FOLD_BATCH,
    ) -> None:
        """Fold ``events`` and ``deliveries`` merged in time order (at one second, deliveries
        first; events of one second keep their given order), then advance to ``now``.

        With ``presorted`` the events are a stream already in time order (a rebuild reads
        the log ordered by time, so the whole log is never held in memory); otherwise they
        are sorted here, stably. Runs of events are folded ``batch_size`` at a time and a
        campaign's send as one vectorised group.

        A state whose clock has not started starts it at its first delivery (or at
        ``now``): follower-days and the value's revenue count from the first push on,
        however the log is cut into folds, so a snapshot folded in increments counts what
        a rebuild counts, and history from before the first push never inflates them."""
        if not presorted:
            events = sorted(events, key=lambda ev: to_epoch(ev["at"]))
        sent_all = sorted(deliveries, key=lambda dv: to_epoch(dv["at"]))
        times = [to_epoch(dv["at"]) for dv in sent_all]
        j = 0
        batch: list[Mapping[str, Any]] = []

        def flush() -> None:
            if batch:
                self.observe(batch, advance=not np.isnan(self.clock))
                batch.clear()

        def send(k: int) -> None:
            nonlocal j
            flush()
            if np.isnan(self.clock):
                self.advance(times[j])
            self.record_deliveries(sent_all[j:k])
            j = k

        for ev in events:
            if j < len(times) and times[j] <= to_epoch(ev["at"]):
                ts = to_epoch(ev["at"])
                k = j
                while k < len(times) and times[k] <= ts:
                    k += 1
                send(k)
            batch.append(ev)
            if len(batch) >= batch_size:
                flush()
        if j < len(times):
            send(len(times))
        flush()
        if now is not None:
            self.advance(to_epoch(now))

    def observe(
        self, events: Iterable[Mapping[str, Any]], now: float | str | None = None, *, advance: bool = True
    ) -> None:
        """Fold events into the state, then advance the clock to ``now`` (default: the last
        event; not at all if ``advance`` is False).

        Once the clock runs (after the first call), subscribed follower-days are counted
        event by event, so they do not depend on how a log is cut into calls (a snapshot
        folded in increments counts what a rebuild counts); an event older than the clock
        is folded at its own time and counts no days."""
        last = self.clock
        running = not np.isnan(self.clock)
        subscribed = int(self._subscribed[: self.n].sum()) if running else 0
        for ev in events:
            kind = ev.get("kind")
            openid = ev.get("openid")
            at = ev.get("at")
            if not isinstance(openid, str) or not openid or at is None:
                self.ignored_events += 1
                continue
            try:
                ts = to_epoch(at)
            except (TypeError, ValueError):
                self.ignored_events += 1
                continue
            handler = _HANDLERS.get(kind)  # type: ignore[arg-type]
            if handler is None:
                self.ignored_events += 1
                continue
            if running:
                if ts > self.clock:
                    self.stats.follower_days += subscribed * (ts - self.clock) / DAY
                    self.clock = ts
                i = self.index.get(openid)
                was = i is not None and bool(self._subscribed[i])
                if i is not None:
                    before = (float(self._pressure[i]), float(self._pressure_at[i]))
            if handler(self, openid, ts, ev) is False:
                self.ignored_events += 1
            if running:
                i = self.index.get(openid)
                change = (i is not None and bool(self._subscribed[i])) - was
                if change:
                    subscribed += change
                    if ts > self.exposure_at and was:
                        # Counted subscribed until ts, though gone when the interval closes.
                        days = hazard_days(np.array([before[0]]), np.array([before[1]]), self.exposure_at, ts)
                        self.stats.haz_days += days[0]
                    elif ts > self.exposure_at:
                        # Counted from the interval's start, though here only from ts on.
                        p, at = float(self._pressure[i]), float(self._pressure_at[i])
                        days = hazard_days(np.array([p]), np.array([at]), self.exposure_at, ts)
                        self.stats.haz_days -= days[0]
            if not ts <= last:
                last = ts
        if advance:
            self.advance(last if now is None else to_epoch(now))

    def advance(self, now: float) -> None:
        """Move the clock forward, counting subscribed follower-days (the base-rate exposure)."""
        if np.isnan(now):
            return
        if not np.isnan(self.clock) and now > self.clock:
            self.stats.follower_days += float(self.subscribed.sum()) * (now - self.clock) / DAY
        if np.isnan(self.clock) or now > self.clock:
            self.clock = now
        if np.isnan(self.observed_from):
            self.observed_from = now
        if np.isnan(self.exposure_at):
            self.exposure_at = now
        else:
            self._expose(now)

    def _expose(self, now: float) -> None:
        """Count subscribed follower-days at each pressure level (the exposure of the daily
        unfollow hazard) from ``exposure_at`` to ``now``. Pressure only decays between
        pushes, so the time each follower spends in each level is exact; pushes (see
        :meth:`_record_group`) and changes of subscription (see :meth:`observe`) close the
        interval first, so the sum does not depend on where the clock stops."""
        if np.isnan(self.exposure_at) or not now > self.exposure_at:
            return
        sub = self.subscribed
        days = hazard_days(self.pressure[sub], self.pressure_at[sub], self.exposure_at, now)
        self.stats.haz_days += days.sum(axis=0)
        self.exposure_at = now

    def _touch(self, i: int, ts: float) -> None:
        last = self._last_interaction_at[i]
        if np.isnan(last) or ts > last:
            self._last_interaction_at[i] = ts

    def _add_evidence(self, i: int, ts: float, cats: Iterable[int], weight: float) -> None:
        cats = list(cats)
        if not cats:
            return
        age = ts - self._evidence_at[i]
        if age > 0:
            self._evidence[i] *= np.float32(2.0 ** (-age / (EVIDENCE_HALF_LIFE_DAYS * DAY)))
            self._evidence_at[i] = ts
        for c in cats:
            self._evidence[i, c] += np.float32(weight)
            self._unanswered[i, c] = 0.0

    def _ev_subscribe(self, openid: str, ts: float, ev: Mapping[str, Any]) -> bool:
        i = self.row(openid)
        if ts < self._subscription_changed_at[i]:
            return True  # an older event arriving late must not overturn a newer one
        self._subscription_changed_at[i] = ts
        self._subscribed[i] = True
        self._subscribed_at[i] = ts
        if self._evidence_at[i] == 0.0:
            self._evidence_at[i] = ts
            self._pressure_at[i] = ts
        scene = ev.get("scene")
        if isinstance(scene, str) and scene:
            self._scene[i] = self._scene_code(scene)
        channel = channel_of(ev)
        self._channel[i] = self._channel_code(channel) if channel else -1
        self._touch(i, ts)
        return True

    def _ev_unsubscribe(self, openid: str, ts: float, ev: Mapping[str, Any]) -> bool:
        i = self.row(openid)
        if ts < self._subscription_changed_at[i]:
            return True
        was = bool(self._subscribed[i])
        self._subscription_changed_at[i] = ts
        self._subscribed[i] = False
        if not was:
            return True
        age = max(ts - float(self._pressure_at[i]), 0.0)
        pressure = float(self._pressure[i]) * 2.0 ** (-age / (PRESSURE_HALF_LIFE_DAYS * DAY))
        hb = int(np.searchsorted(HAZARD_EDGES, pressure, side="right"))
        self.stats.haz_unf[hb] += 1
        last_push = self._last_push_at[i]
        if not np.isnan(last_push) and 0 <= ts - last_push <= UNFOLLOW_ATTRIBUTION_HOURS * HOUR:
            self.stats.unf_after[self._last_push_pressure[i], self._last_push_relevant[i]] += 1
        else:
            self.stats.base_unfollows += 1
        return True

    def _ensure_follower(self, openid: str, ts: float) -> int:
        # A message or click can only come from a follower: an unseen openid is subscribed.
        known = openid in self.index
        i = self.row(openid)
        if not known:
            self._subscribed[i] = True
            self._subscription_changed_at[i] = ts
            self._evidence_at[i] = ts
            self._pressure_at[i] = ts
        return i

    def _ev_location(self, openid: str, ts: float, ev: Mapping[str, Any]) -> bool:
        try:
            lat, lng = float(ev["lat"]), float(ev["lng"])
        except (KeyError, TypeError, ValueError):
            return False
        if not geo.valid_point(lat, lng):
            return False
        try:
            lat, lng = geo.to_gcj02(lat, lng, str(ev.get("datum") or self.datum))
        except ValueError:
            return False
        i = self._ensure_follower(openid, ts)
        self._lat[i], self._lng[i] = lat, lng
        if self.stores:
            self._distance_km[i] = float(
                geo.nearest_store_km(np.array([lat]), np.array([lng]), self.stores)[0]
            )
        return True

    def _ev_text(self, openid: str, ts: float, ev: Mapping[str, Any]) -> bool:
        i = self._ensure_follower(openid, ts)
        self._touch(i, ts)
        self._last_message_at[i] = ts
        self._cs_sent_since_message[i] = 0
        content = ev.get("content")
        change = consent_change(content)
        if change is not None:
            column = self._opted_in_at if change else self._opted_out_at
            column[i] = np.fmax(column[i], ts)  # the latest word wins, in any arrival order
        elif isinstance(content, str):
            self._add_evidence(
                i, ts, match_categories(content, self.categories), EVIDENCE_WEIGHTS["text"]
            )
        return True

    def _ev_click(self, openid: str, ts: float, ev: Mapping[str, Any]) -> bool:
        i = self._ensure_follower(openid, ts)
        self._touch(i, ts)
        key = ev.get("key") or ev.get("url") or ""
        weight = EVIDENCE_WEIGHTS["view" if ev.get("kind") == "view" else "click"]
        if isinstance(key, str):
            self._add_evidence(i, ts, match_categories(key, self.categories), weight)
        return True

    def _ev_scan(self, openid: str, ts: float, ev: Mapping[str, Any]) -> bool:
        i = self._ensure_follower(openid, ts)
        self._touch(i, ts)
        return True

    def _campaign_cats(self, ev: Mapping[str, Any]) -> list[int]:
        product = ev.get("product")
        if isinstance(product, str | int):
            if str(product) in self.product_category:
                return [self.product_category[str(product)]]
            # Placed otherwise for now; registering this product later would change that.
            self.unplaced_products.add(str(product))
        campaign = ev.get("campaign")
        if isinstance(campaign, str):
            if campaign in self.campaign_category:
                return [self.campaign_category[campaign]]
            self.unplaced_campaigns.add(campaign)
        category = ev.get("category")
        if isinstance(category, str) and category in self.category_index:
            return [self.category_index[category]]
        return []

    def _ev_read(self, openid: str, ts: float, ev: Mapping[str, Any]) -> bool:
        i = self._ensure_follower(openid, ts)
        self._touch(i, ts)
        self._reads[i] += 1
        campaign = ev.get("campaign")
        if (
            ev.get("kind") == "read"
            and not self._last_push_read[i]
            and isinstance(campaign, str)
            and campaign in self.received_at
            and self.received_at[campaign][i] == self._last_push_at[i]
        ):
            # The first read of the latest push: counted in its attention contrast.
            self._last_push_read[i] = True
            wait = int(self._att_wait[i])
            if wait >= 0:
                self.stats.att_read.reshape(-1)[wait] += 1
                self._att_wait[i] = -1
        self._add_evidence(i, ts, self._campaign_cats(ev), EVIDENCE_WEIGHTS[str(ev["kind"])])
        return True

    def _ev_order(self, openid: str, ts: float, ev: Mapping[str, Any]) -> bool:
        try:
            amount = float(ev.get("amount") or 0.0)
        except (TypeError, ValueError):
            return False
        if not np.isfinite(amount) or amount < 0:
            return False
        # Orders come from the shop's records, not from WeChat: an unknown openid is a
        # customer, not a follower, and is never marked subscribed by an order.
        i = self.row(openid)
        self._touch(i, ts)
        self._orders[i] += 1
        self._revenue[i] += amount
        s = self.stats
        s.orders += 1
        # The follower value learns only from orders of followers, while follower-days are
        # counted: imported history from before the log began must not inflate it.
        if self._subscribed[i] and ts >= self.observed_from:
            s.revenue += amount
        cats = self._campaign_cats(ev)
        self._add_evidence(i, ts, cats, EVIDENCE_WEIGHTS["order"])
        campaign = ev.get("campaign")
        if isinstance(campaign, str) and campaign in self.received_at:
            sent_at = self.received_at[campaign][i]
            if not np.isnan(sent_at) and 0 <= ts - sent_at <= ORDER_ATTRIBUTION_DAYS * DAY:
                c = self.campaign_category[campaign]
                s.amount_sum[c] += amount
                s.amount_n[c] += 1
        # The randomized contrasts: the order counts in the open window of its category,
        # pushed or kept back alike (an order of an unknown product, in every category's).
        for c in cats or range(len(self.categories)):
            arm = int(self._win_arm[i, c])
            if arm >= 0 and 0.0 <= ts - self._win_at[i, c] <= ORDER_ATTRIBUTION_DAYS * DAY:
                cell = int(self._win_cell[i, c])
                s.up_y[arm, c, cell] += amount
                s.up_y2[arm, c, cell] += amount * amount
                s.up_o[arm, c, cell] += 1
        return True

    def _ev_tags(self, openid: str, ts: float, ev: Mapping[str, Any]) -> bool:
        tags = ev.get("tags")
        if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
            return False
        self.set_tags(openid, tags)
        return True

    def distance_bucket(self) -> np.ndarray:
        """0 unknown, 1 near (< 10 km), 2 mid (< 40 km), 3 far; int8 per row."""
        d = self.distance_km
        out = (1 + bucket(d, DISTANCE_EDGES)).astype(np.int8)
        out[np.isnan(d)] = 0
        return out

    # ----- deliveries ------------------------------------------------------------------
    def register_campaign(
        self, campaign_id: str, category: str, products: Iterable[Mapping[str, Any]] = ()
    ) -> int:
        """Remember a campaign's category (and its products') so reads and orders can be placed."""
        if category not in self.category_index:
            raise ValueError(f"unknown category {category!r}")
        c = self.category_index[category]
        self.campaign_category[campaign_id] = c
        for product in products:
            pid = product.get("id")
            if pid is not None:
                self.product_category.setdefault(str(pid), c)
                try:
                    price = float(product.get("price") or 0.0)
                except (TypeError, ValueError):
                    continue
                if np.isfinite(price) and price > 0:
                    self.product_price[str(pid)] = price
        if campaign_id not in self.received:
            self.received[campaign_id] = np.zeros(self._capacity, dtype=np.bool_)
            self.received_at[campaign_id] = np.full(self._capacity, np.nan)
        return c

    def register_products(self, products: Iterable[tuple[str, str, float]]) -> None:
        """Place the merchant's products (id, category, price in yuan): orders and clicks
        naming one count as interest in its category. A product already placed (by an
        earlier call or a campaign) keeps its category; its price is updated."""
        for pid, category, price in products:
            if category not in self.category_index:
                raise ValueError(f"unknown category {category!r}")
            self.product_category.setdefault(str(pid), self.category_index[category])
            if np.isfinite(price) and price > 0:
                self.product_price[str(pid)] = float(price)

    def category_prices(self) -> np.ndarray:
        """A price scale per category (yuan): the median price of its known products; the
        estimates learn revenue in units of it, so categories of any price pool together."""
        by_cat: dict[int, list[float]] = {}
        for pid, price in self.product_price.items():
            by_cat.setdefault(self.product_category[pid], []).append(price)
        known = [p for prices in by_cat.values() for p in prices]
        fallback = float(np.median(known)) if known else 100.0
        return np.array(
            [float(np.median(by_cat[c])) if c in by_cat else fallback for c in range(len(self.categories))]
        )

    def record_deliveries(self, deliveries: Iterable[Mapping[str, Any]]) -> None:
        """Fold sent messages into the state: caps, cooldowns, pressure, pooled exposure.

        A delivery on another channel (``channel`` in :data:`OTHER_CHANNELS`) without a
        campaign, e.g. a WeCom mass message a member sent by hand, spends only the
        attention budget."""
        # (time, campaign or "" for a push elsewhere, channel) -> rows, folded in time order;
        # a control observation is grouped under channel "control".
        groups: dict[tuple[float, str, str], list[int]] = {}
        for dv in deliveries:
            ts = to_epoch(dv["at"])
            channel = "control" if dv.get("control") else str(dv.get("channel") or "mass")
            if channel in OTHER_CHANNELS and not dv.get("campaign"):
                groups.setdefault((ts, "", channel), []).append(self.row(str(dv["openid"])))
                continue
            cid = str(dv["campaign"])
            if cid not in self.campaign_category:
                self.register_campaign(cid, str(dv["category"]), dv.get("products") or ())
            groups.setdefault((ts, cid, channel), []).append(self.row(str(dv["openid"])))
        for (ts, cid, channel), rows in sorted(groups.items(), key=lambda g: g[0][0]):
            if channel == "control":
                self._record_controls(np.unique(np.asarray(rows, dtype=np.int64)), ts, cid)
            elif cid:
                self._record_group(np.asarray(rows, dtype=np.int64), ts, cid, channel)
            else:
                self._record_attention(np.unique(np.asarray(rows, dtype=np.int64)), ts, channel)

    def _record_attention(self, rows: np.ndarray, ts: float, channel: str) -> None:
        """A push the person got outside fencun's plans: pressure, the weekly cap, the
        minimum gap and its platform's own limit count it; cooldowns and learned rates
        do not (its category is unknown)."""
        self._expose(ts)
        if channel == "wecom":
            self._wecom_day[rows] = local_day_number(ts)
        age = np.maximum(ts - self._pressure_at[rows], 0.0)
        self._pressure[rows] = self._pressure[rows] * np.exp2(-age / (PRESSURE_HALF_LIFE_DAYS * DAY)) + 1.0
        self._pressure_at[rows] = np.fmax(self._pressure_at[rows], ts)
        self._push_times[rows, self._push_count[rows] % PUSH_RING] = ts
        self._push_count[rows] += 1
        self._last_push_at[rows] = np.fmax(self._last_push_at[rows], ts)

    def record_plan_deliveries(
        self, rows: np.ndarray, campaign_id: str, at: float, channel: str = "mass"
    ) -> None:
        """Vectorised :meth:`record_deliveries` for one campaign sent to ``rows`` at ``at``."""
        if campaign_id not in self.campaign_category:
            raise ValueError(f"register campaign {campaign_id!r} first")
        self._record_group(np.asarray(rows, dtype=np.int64), float(at), campaign_id, channel)

    def _open_windows(self, rows: np.ndarray, c: int, ts: float, arm: int) -> np.ndarray:
        """Start the outcome window of ``rows`` for category ``c``: one observation of
        ``arm`` in each row's cell as the follower was at ``ts``. Returns the cells."""
        cells = self.uplift_cells(c, ts, rows)
        np.add.at(self.stats.up_n[arm, c], cells, 1.0)
        self._win_at[rows, c] = ts
        self._win_arm[rows, c] = arm
        self._win_cell[rows, c] = cells
        return cells

    def record_controls(self, rows: np.ndarray, campaign_id: str, at: float) -> None:
        """Vectorised control observations: ``rows`` were kept back from ``campaign_id`` at
        ``at`` by chance (its holdout, the control group). Nothing was sent."""
        if campaign_id not in self.campaign_category:
            raise ValueError(f"register campaign {campaign_id!r} first")
        self._record_controls(np.unique(np.asarray(rows, dtype=np.int64)), float(at), campaign_id)

    def _record_controls(self, rows: np.ndarray, ts: float, cid: str) -> None:
        if rows.size:
            cells = self._open_windows(rows, self.campaign_category[cid], ts, CONTROL)
            self._open_attention(rows, ts, CONTROL, cells)

    def _open_attention(self, rows: np.ndarray, ts: float, arm: int, cells: np.ndarray) -> None:
        """Follow how the next push after this one (or after this holdout) is read."""
        self._att_arm[rows] = arm
        self._att_rel[rows] = (np.asarray(cells) // _CELLS_PER_REL).astype(np.int8)
        self._att_at[rows] = ts

    def _count_attention(self, rows: np.ndarray, ts: float, cells: np.ndarray) -> None:
        """A push arrives: if a push or holdout came within ATTENTION_DAYS before it, this
        push is that one's "next push", counted by arm until it is read. Only next pushes
        of a category the follower has shown interest in count: attention matters where
        a push is worth something."""
        arm = self._att_arm[rows]
        with np.errstate(invalid="ignore"):
            follow = (
                (arm >= 0)
                & (ts - self._att_at[rows] <= ATTENTION_DAYS * DAY)
                & (ts > self._att_at[rows])
                & (np.asarray(cells) >= _CELLS_PER_REL)
            )
        flat = arm.astype(np.int64) * N_REL + self._att_rel[rows]
        np.add.at(self.stats.att_n.reshape(-1), flat[follow], 1.0)
        self._att_wait[rows] = np.where(follow, flat, -1).astype(np.int8)

    def _record_group(self, rows: np.ndarray, ts: float, cid: str, channel: str) -> None:
        if rows.size == 0:
            return
        self._expose(ts)
        rows = np.unique(rows)
        c = self.campaign_category[cid]
        s = self.stats
        cells = self._open_windows(rows, c, ts, TREATED)
        self._unanswered[rows, c] += 1.0
        self._count_attention(rows, ts, cells)
        self._open_attention(rows, ts, TREATED, cells)
        # Pooled exposure for the unfollow estimates, as the follower was when the push arrived.
        rel = (np.asarray(cells) // _CELLS_PER_REL).astype(np.int8)
        age = np.maximum(ts - self._pressure_at[rows], 0.0)
        pressure = self._pressure[rows] * np.exp2(-age / (PRESSURE_HALF_LIFE_DAYS * DAY)) + 1.0
        pb = bucket(pressure.astype(np.float32), PRESSURE_EDGES)
        relevant = (rel >= 2).astype(np.int8)
        np.add.at(s.unf_sent, (pb, relevant), 1.0)
        # Per-follower columns.
        self._pressure[rows] = pressure
        self._pressure_at[rows] = ts
        self._last_push_pressure[rows] = pb
        self._last_push_relevant[rows] = relevant
        self._last_push_read[rows] = False
        self._push_times[rows, self._push_count[rows] % PUSH_RING] = ts
        self._push_count[rows] += 1
        self._last_push_at[rows] = np.fmax(self._last_push_at[rows], ts)
        self._cat_last_push[rows, c] = np.fmax(self._cat_last_push[rows, c], ts)
        self._cat_pushes[rows, c] += 1
        self.received[cid][rows] = True
        self.received_at[cid][rows] = ts
        if channel == "customer_service":
            self._cs_sent_since_message[rows] += 1
        elif channel == "wecom":
            self._wecom_day[rows] = local_day_number(ts)
        else:
            month = local_month_key(ts)
            same = self._month_key[rows] == month
            self._month_count[rows] = np.where(same, self._month_count[rows] + 1, 1)
            self._month_key[rows] = month
            self.mass_sends_by_day.setdefault(local_day_number(ts), set()).add(cid)


_HANDLERS = {
    "subscribe": FollowerState._ev_subscribe,
    "unsubscribe": FollowerState._ev_unsubscribe,
    "location": FollowerState._ev_location,
    "text": FollowerState._ev_text,
    "click": FollowerState._ev_click,
    "view": FollowerState._ev_click,
    "scan": FollowerState._ev_scan,
    "read": FollowerState._ev_read,
    "link_click": FollowerState._ev_read,
    "order": FollowerState._ev_order,
    "tags": FollowerState._ev_tags,
}


#: Pooled statistics that are sums over the clock's steps: the same whatever the steps,
#: up to floating-point rounding.
INTERVAL_STATS = frozenset({"follower_days", "haz_days"})


def differences(a: FollowerState, b: FollowerState, interval_rtol: float = 1e-9) -> list[str]:
    """What differs between two states, one line per column or statistic (empty: equal).

    Rows are matched by openid, so states that met their followers in another order still
    compare. Columns, receipts and counts must be equal exactly (NaN equals NaN); the
    statistics in :data:`INTERVAL_STATS` within ``interval_rtol``."""
    out: list[str] = []
    if [c.id for c in a.categories] != [c.id for c in b.categories]:
        return ["categories differ"]
    if set(a.openids) != set(b.openids):
        return [f"followers differ: {len(set(a.openids) ^ set(b.openids))} openids in one only"]
    order = np.fromiter((b.index[o] for o in a.openids), dtype=np.int64, count=a.n)
    for name in COLUMNS:
        # (``evidence_at`` is also a method: read the columns themselves.)
        x, y = a.__dict__["_" + name][: a.n], b.__dict__["_" + name][: b.n][order]
        if name in ("scene", "channel"):  # codes index each state's own list of names
            names_a, names_b = (a.scenes, b.scenes) if name == "scene" else (a.channels, b.channels)
            x = np.array([names_a[v] if v >= 0 else "" for v in x])
            y = np.array([names_b[v] if v >= 0 else "" for v in y])
        elif name == "tag_bits":  # bits index each state's own list of tag names
            tags_a = [sorted(t for t in a.tag_names if a.tag_mask(t)[i]) for i in range(a.n)]
            tags_b = [sorted(t for t in b.tag_names if b.tag_mask(t)[b.index[o]]) for o in a.openids]
            if tags_a != tags_b:
                out.append("tag_bits")
            continue
        if not np.array_equal(x, y, equal_nan=x.dtype.kind == "f"):
            out.append(f"{name}: {int(np.sum(~((x == y) | (x != x) & (y != y))))} values differ")
    for cid in sorted(set(a.received_at) | set(b.received_at)):
        if cid not in a.received_at or cid not in b.received_at:
            out.append(f"receipts of {cid} in one state only")
        elif not np.array_equal(a.received_at[cid][: a.n], b.received_at[cid][: b.n][order], equal_nan=True):
            out.append(f"receipts of {cid}")
    for name, x in vars(a.stats).items():
        y = getattr(b.stats, name)
        if name in INTERVAL_STATS:
            if not np.allclose(x, y, rtol=interval_rtol, atol=1e-9):
                out.append(f"stats.{name}: {x} vs {y}")
        elif not np.array_equal(np.asarray(x), np.asarray(y)):
            out.append(f"stats.{name}")
    for name in ("campaign_category", "product_category", "mass_sends_by_day"):
        if getattr(a, name) != getattr(b, name):
            out.append(name)
    return out
