"""The engine's follower state of an account, brought up to date from its snapshot.

:func:`build_state` loads the account's snapshot (``audience/snapshots.py``), folds what
arrived since (events by primary key, sent outbox rows, the randomized controls of newly
sent campaigns, WeCom mass messages sent elsewhere), saves a new snapshot when enough
changed, and then lays on what is the account's *current* data rather than history:
followers known only from the user list, WeChat tags, WeCom contacts and corp tags. A
plan's cost therefore grows with what happened since the last snapshot, not with the log.

Ordering. :func:`rebuild` folds the log in time order (``occurred_at``, then pk), each
delivery before the events of its second. An increment folds the new events in time
order among themselves, after everything already folded. Events that arrive in time
order therefore give exactly a rebuild's state, every column and every pooled count
(follower-days and hazard exposure are integrated exactly, whatever the steps; see
``FollowerState.fold``). An event that arrives late, dated before the snapshot's newest
event, is folded in arrival order, at its own time: most columns still equal a
rebuild's (subscription, orders, revenue, last interaction, unanswered pushes), but a
late interest signal is added undecayed (evidence halves over two years: off by a
relative 1e-5 a day late), a late location or tag list wins because it came last, a
late order or read counts in the outcome window open when it is folded, and the
follower-days between its time and the snapshot's are not recounted. Tests check both.

On PostgreSQL a transaction may commit an event after one with a larger pk is visible,
so the snapshot's horizon stops at events received at least :data:`SETTLE_SECONDS`
ago; the newer ones are folded into the plan's state but not into the saved snapshot.
SQLite commits one writer at a time, in pk order.

Invalidation. The snapshot is keyed by the account's categories, stores and datum (see
:func:`fencun.audience.snapshots.config_key`): another category or store means a
rebuild, because past texts, clicks and distances would be placed differently. The
catalog's products are placed in their categories before any campaign (so a campaign
showing a product never moves it), and new products and campaigns are registered on the
loaded state, as a rebuild registers them before folding, unless an event already
folded named one of them (the state keeps those names): then, and when a product or
campaign changed category or products or was deleted, the snapshot is rebuilt.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

import numpy as np
from django.db import connection
from django.db.models import Min
from django.utils import timezone

from fencun import clock
from fencun.accounts.models import Account
from fencun.audience import snapshots
from fencun.audience.models import Follower, Store
from fencun.audience.snapshots import Horizon
from fencun.campaigns.models import Campaign, OutboxItem, PlanSnapshot, engine_id_of
from fencun.catalog.models import Category, Product
from fencun.channels.models import ExternalContact, WecomDispatch
from fencun.channels.wecom import people
from fencun.engine.catalog import Category as EngineCategory
from fencun.engine.geo import GCJ02
from fencun.engine.state import FollowerState

#: On PostgreSQL, events received this recently may still have lower-pk neighbours in
#: flight (see the module docstring); 0 on SQLite.
SETTLE_SECONDS = 60.0
#: A new snapshot is saved once this many events, or this share of the followers, were
#: folded since the last (or any delivery, or a new campaign): saving a million
#: followers' columns takes about half a second.
SAVE_EVENTS_MIN = 2_000
SAVE_EVENTS_SHARE = 0.02
# Pushes elsewhere older than this no longer weigh on the budget (pressure halves weekly).
ELSEWHERE_DAYS = 28
# Primary keys per ``IN (...)`` query (SQLite's bound on variables).
IN_CHUNK = 5_000

CampaignSpec = tuple[str, str, list[dict[str, Any]]]
ProductSpec = tuple[str, str, float]


def build_state(account: Account, now: datetime | None = None) -> FollowerState:
    """The engine's follower state of ``account`` at ``now`` (default now): the snapshot
    brought up to date (see the module docstring), followers from the user list, tags and
    WeCom contacts laid on, the clock advanced to ``now``."""
    now = now or clock.now()
    state = current_state(account, now)
    state.observe([], now=now.isoformat())
    _lay_on_current(account, state)
    return state


def current_state(account: Account, now: datetime | None = None) -> FollowerState:
    """The folded state of ``account``: its snapshot plus everything since (saving a new
    snapshot when enough changed), before the current data is laid on."""
    now = now or clock.now()
    categories, stores, products, campaigns = _configuration(account)
    config = snapshots.config_key(categories, stores, GCJ02)
    loaded = snapshots.load(account, config)
    if loaded is None or not _compatible(*loaded, products, campaigns):
        state, horizon = rebuild(account, now)
    else:
        state, horizon = loaded
        registered = _register_new(state, horizon, products, campaigns)
        settled = _settled_event_pk(account)
        events = [
            _engine_event(*row)
            for row in snapshots.events_since(account, horizon.events_through, settled)
        ]
        deliveries = _new_deliveries(account, horizon, now)
        if events or deliveries:
            state.fold(events, deliveries)
        horizon.events_through = max(horizon.events_through, settled)
        if (
            registered
            or deliveries
            or len(events) >= max(SAVE_EVENTS_MIN, SAVE_EVENTS_SHARE * state.n)
        ):
            snapshots.save(account, state, horizon, config)
    tail = snapshots.events_since(account, horizon.events_through, snapshots.last_event_pk(account))
    if tail:
        state.fold([_engine_event(*row) for row in tail])
    return state


def rebuild(
    account: Account, now: datetime | None = None, *, save: bool = True
) -> tuple[FollowerState, Horizon]:
    """Fold the account's whole log from scratch (events in time order, streamed) with
    every delivery made, and save it as the account's snapshot unless ``save`` is False."""
    now = now or clock.now()
    categories, stores, products, campaigns = _configuration(account)
    state = FollowerState(categories, stores)
    horizon = Horizon()
    _register_new(state, horizon, products, campaigns)
    through = _settled_event_pk(account)
    deliveries = _new_deliveries(account, horizon, now)
    events = (_engine_event(*row) for row in snapshots.events_in_time_order(account, through))
    state.fold(events, deliveries, presorted=True)
    horizon.events_through = through
    if save:
        snapshots.save(account, state, horizon, snapshots.config_key(categories, stores, GCJ02))
    return state, horizon


def _configuration(
    account: Account,
) -> tuple[list[EngineCategory], list[tuple[float, float]], list[ProductSpec], list[CampaignSpec]]:
    """What the fold depends on besides the log: categories, stores, the catalog's
    products (sku, category, yuan) and the campaigns (engine id, category, products)."""

    categories = [
        EngineCategory(id=c.key, name=c.name, keywords=tuple(c.keywords or ()))
        for c in Category.objects.filter(account=account).order_by("pk")
    ] or [EngineCategory(id="general", name="general")]
    stores = [(s.lat, s.lng) for s in Store.objects.filter(account=account).order_by("pk")]
    products = [
        (sku, key, float(price))
        # A product not yet in a category is placed when it gets one.
        for sku, key, price in Product.objects.filter(account=account, category__isnull=False)
        .order_by("pk")
        .values_list("sku", "category__key", "price")
    ]
    campaigns = [
        (
            c.engine_id,
            c.category.key,
            [{"id": p.sku, "price": float(p.price)} for p in c.products.all()],
        )
        for c in Campaign.objects.filter(account=account)
        .order_by("pk")
        .select_related("category")
        .prefetch_related("products")
    ]
    return categories, stores, products, campaigns


def _fingerprint(category: str, products: list[dict[str, Any]]) -> str:
    """A campaign as the fold sees it: its category and its products (prices aside)."""
    doc = json.dumps([category, sorted(str(p["id"]) for p in products)])
    return hashlib.sha256(doc.encode("utf-8")).hexdigest()[:16]


def _compatible(
    state: FollowerState,
    horizon: Horizon,
    products: list[ProductSpec],
    campaigns: list[CampaignSpec],
) -> bool:
    """Whether the snapshot can be extended rather than rebuilt: every product and
    campaign it registered is still there as it was, and no new one was named by an event
    it folded (a rebuild, registering them first, would place those events otherwise)."""
    current_products = {sku: key for sku, key, _ in products}
    if any(current_products.get(sku) != key for sku, key in horizon.products.items()):
        return False
    if any(
        sku in state.unplaced_products for sku in current_products.keys() - horizon.products.keys()
    ):
        return False
    current = {cid: _fingerprint(cat, items) for cid, cat, items in campaigns}
    if any(current.get(cid) != fp for cid, fp in horizon.campaigns.items()):
        return False
    return not any(
        cid in state.unplaced_campaigns for cid in current.keys() - horizon.campaigns.keys()
    )


def _register_new(
    state: FollowerState,
    horizon: Horizon,
    products: list[ProductSpec],
    campaigns: list[CampaignSpec],
) -> bool:
    """Register the products and campaigns the state does not know yet (products first:
    a product is placed in its own category, whatever campaign shows it) and the current
    prices; True if there were new ones."""
    new = [p for p in products if p[0] not in horizon.products]
    state.register_products(products)
    horizon.products.update({sku: key for sku, key, _ in new})
    fresh = False
    for cid, category, items in campaigns:
        if cid not in horizon.campaigns:
            state.register_campaign(cid, category, items)
            horizon.campaigns[cid] = _fingerprint(category, items)
            fresh = True
    return fresh or bool(new)


def _settled_event_pk(account: Account) -> int:
    if connection.vendor == "sqlite" or SETTLE_SECONDS <= 0:
        return snapshots.last_event_pk(account)
    return snapshots.last_event_pk(account, timezone.now() - timedelta(seconds=SETTLE_SECONDS))


def _engine_event(kind: str, openid: str, at: datetime, payload: dict | None) -> dict:
    """An event of the log as the engine reads it: campaigns by their engine id, the time
    in epoch seconds."""
    event = {**(payload or {}), "kind": kind, "openid": openid, "at": at.timestamp()}
    if isinstance(event.get("campaign"), int):
        event["campaign"] = engine_id_of(event["campaign"])
    return event


def _chunks(pks: np.ndarray) -> Iterable[list[int]]:
    for start in range(0, len(pks), IN_CHUNK):
        yield pks[start : start + IN_CHUNK].tolist()


def _new_deliveries(account: Account, horizon: Horizon, now: datetime) -> list[dict]:
    """What the account's campaigns did since ``horizon``, as the engine's delivery dicts
    (``horizon`` is moved past them): one per recipient of every newly sent outbox row at
    the row's time; for every campaign sent for the first time, its randomized controls
    (``"control": True``, nothing sent) at the time of its first send; WeCom mass
    messages sent elsewhere (see :func:`_pushes_elsewhere`).

    The controls are the approved plan's: its holdout and the control-group members who
    passed every hard rule. The engine learns a push's uplift from the difference between
    what the recipients and the controls did afterwards."""
    sent_rows = OutboxItem.objects.filter(
        campaign__account=account, status=OutboxItem.Status.SENT, sent_at__isnull=False
    )
    sent = np.fromiter(sent_rows.values_list("pk", flat=True), dtype=np.int64)
    new = np.setdiff1d(sent, horizon.outbox)
    deliveries: list[dict] = []
    campaigns: dict[int, Campaign] = {}
    for pks in _chunks(new):
        for item in OutboxItem.objects.filter(pk__in=pks).select_related(
            "campaign", "campaign__category"
        ):
            # One dict per recipient sharing the row's values: the state groups them back.
            assert item.sent_at is not None  # sent rows carry their time
            at, cid = item.sent_at.timestamp(), item.campaign.engine_id
            category, channel = item.campaign.category.key, item.campaign.channel
            deliveries.extend(
                {
                    "openid": openid,
                    "campaign": cid,
                    "at": at,
                    "category": category,
                    "channel": channel,
                }
                for openid in item.openids
            )
            campaigns[item.campaign.pk] = item.campaign
    horizon.outbox = np.union1d(horizon.outbox, new)
    replayed = set(horizon.controls.tolist())
    first_time = [pk for pk in campaigns if pk not in replayed]
    if first_time:
        first_sent = dict(
            sent_rows.filter(campaign_id__in=first_time)
            .values("campaign_id")
            .annotate(first=Min("sent_at"))
            .values_list("campaign_id", "first")
        )
        plans = PlanSnapshot.objects.filter(campaign_id__in=first_time, approved_at__isnull=False)
        for campaign_id, controls, holdout in plans.order_by("approved_at", "pk").values_list(
            "campaign_id", "controls", "holdout"
        ):
            c = campaigns[campaign_id]
            at, cid, category, channel = (
                first_sent[campaign_id].timestamp(),
                c.engine_id,
                c.category.key,
                c.channel,
            )
            # Plans made before controls were stored kept only their holdout.
            openids = dict.fromkeys(
                o for o in [*(controls or ()), *(holdout or ())] if isinstance(o, str)
            )
            deliveries.extend(
                {
                    "openid": openid,
                    "campaign": cid,
                    "at": at,
                    "category": category,
                    "channel": channel,
                    "control": True,
                }
                for openid in openids
            )
        horizon.controls = np.union1d(horizon.controls, np.asarray(first_time, np.int64))
    deliveries.extend(_pushes_elsewhere(account, horizon, now))
    return deliveries


def _pushes_elsewhere(account: Account, horizon: Horizon, now: datetime) -> list[dict]:
    """WeCom mass messages sent outside fencun's campaigns (by members, in WeCom) to people
    who also follow this account (one person, joined by unionid), as deliveries the engine
    counts against the same attention budget; each once (``horizon.dispatches``), if sent
    within :data:`ELSEWHERE_DAYS` of ``now``. A campaign's own WeCom rows are deliveries
    already (see :func:`_new_deliveries`)."""

    ours = OutboxItem.objects.filter(
        campaign__account=account, campaign__channel=Campaign.Channel.WECOM
    ).exclude(task_id="")
    folded = set(horizon.dispatches.tolist())
    dispatches = [
        row
        for row in WecomDispatch.objects.filter(
            corp__account=account,
            kind=WecomDispatch.Kind.MASS,
            created_at__gte=now - timedelta(days=ELSEWHERE_DAYS),
            created_at__lte=now,
        )
        .exclude(task_id__in=ours.values("task_id"))
        .values_list("pk", "corp_id", "external_userid", "created_at")
        if row[0] not in folded
    ]
    if not dispatches:
        return []
    horizon.dispatches = np.union1d(
        horizon.dispatches, np.asarray([d[0] for d in dispatches], np.int64)
    )
    unionid_of = {
        (corp, ext): unionid
        for corp, ext, unionid in ExternalContact.objects.filter(corp__account=account)
        .exclude(unionid="")
        .values_list("corp_id", "external_userid", "unionid")
    }
    openid_of = dict(
        Follower.objects.filter(account=account)
        .exclude(unionid="")
        .values_list("unionid", "openid")
    )
    out = []
    for _, corp, ext, at in dispatches:
        openid = openid_of.get(unionid_of.get((corp, ext), ""))
        if openid:
            out.append({"openid": openid, "at": at.timestamp(), "channel": "wecom"})
    return out


def _lay_on_current(account: Account, state: FollowerState) -> None:
    """The account's current data, which is no event's: WeCom contacts and corp tags,
    followers known only from the user list (subscribed, with the time and scene the user
    API reported) and WeChat tags. Never saved in the snapshot."""
    corp = people.campaign_corp(account)
    if corp is not None:
        keys, tags = people.customers(corp)
        state.set_wecom_contacts(keys.values())
        state.set_wecom_tags(tags)
    followers = Follower.objects.filter(account=account)
    index, subscribed = state.index, state.subscribed
    missing = [
        openid
        for openid in followers.filter(subscribed=True)
        .order_by("pk")
        .values_list("openid", flat=True)
        .iterator(chunk_size=50_000)
        if (i := index.get(openid)) is None or not subscribed[i]
    ]
    for pks in _chunks(np.arange(len(missing))):
        chunk = [missing[k] for k in pks]
        for openid, since, scene, channel in (
            followers.filter(openid__in=chunk)
            .order_by("pk")
            .values_list("openid", "subscribed_at", "subscribe_scene", "subscribe_scene_value")
        ):
            state.add_followers(
                [openid], subscribed_at=since.timestamp() if since else None,
                scene=scene or "", channel=channel or "",
            )
    state.set_impersonal(followers.filter(personalised=False).values_list("openid", flat=True))
    for openid, tags in followers.exclude(tags=[]).order_by("pk").values_list("openid", "tags"):
        if tags:
            state.set_tags(openid, [str(t) for t in tags])
