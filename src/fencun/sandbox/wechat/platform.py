"""The sandbox's Official Account: one state object, and the dispatcher over its families.

Every ``/cgi-bin/...`` request is handled by :meth:`Platform.handle`: token and quota
checks, then the family module that owns the path (``token``, ``user``, ``tag``,
``media``, ``message``, ``template``, ``quota``, ``material``, ``draft``,
``freepublish``, ``menu``, ``qrcode``, ``datacube``), which returns the JSON WeChat would.
Families are functions of the :class:`Platform` they share; limits are read from the
platform limits table, quotas and windows follow the sandbox clock, and mass sends and
publishes run as jobs that end with a MASSSENDJOBFINISH or PUBLISHJOBFINISH callback.
"""

from __future__ import annotations

import copy
import json
import queue
import random
import secrets
import threading
import time
from collections import Counter, defaultdict
from datetime import datetime
from typing import Any

from fencun.sandbox.callbacks import CallbackPoster
from fencun.sandbox.population import GENERATED_TAGS, FollowerRecord, Population
from fencun.sandbox.wechat import (
    datacube,
    draft,
    freepublish,
    material,
    media,
    menu,
    message,
    notice,
    qrcode,
    quota,
    tag,
    template,
    token,
    user,
)
from fencun.sandbox.wechat.errors import ApiError, error_answer
from fencun.sandbox.wechat.limits import limits_for
from fencun.sandbox.wechat.routing import Route
from fencun.sandbox.wechat.state import (
    SHANGHAI,
    Config,
    Delivery,
    FaultRule,
    MassJob,
    PublishJob,
    timestamp,
)

#: Every path the sandbox answers, family by family (unknown paths answer 48001).
ROUTES: dict[str, Route] = {
    **token.ROUTES,
    **user.ROUTES,
    **tag.ROUTES,
    **media.ROUTES,
    **message.ROUTES,
    **template.ROUTES,
    **notice.ROUTES,
    **quota.ROUTES,
    **material.ROUTES,
    **draft.ROUTES,
    **freepublish.ROUTES,
    **menu.ROUTES,
    **qrcode.ROUTES,
    **datacube.ROUTES,
}
#: The first id a created tag gets (the generated population's tags come before it).
FIRST_TAG_ID = 105


class Platform:
    """All state of the simulated account, guarded by one lock."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self.limits = limits_for(config.account_type)
        self.lock = threading.RLock()
        self.clock_offset = 0.0
        self.rng = random.Random(config.seed)
        self.population = Population(config.app_id, config.followers, config.seed, self.now())
        self.tags: dict[int, str] = dict(GENERATED_TAGS) if config.followers else {}
        #: Subscribed followers per tag; None until counted (and after the population changes).
        self.tag_counts: Counter[int] | None = None
        self.next_tag_id = FIRST_TAG_ID
        # Tokens: value -> expiry; the current classic and stable tokens.
        self.tokens: dict[str, float] = {}
        self.stable_current: str | None = None
        self.forced_refreshes: list[float] = []
        self.calls: Counter[str] = Counter()
        self.day_calls: dict[str, Counter[str]] = defaultdict(Counter)
        self.minute_calls: dict[tuple[str, int], int] = Counter()
        self.quotas = dict(quota.DAILY_QUOTAS)
        self.quota_clears: list[float] = []
        self.faults: list[FaultRule] = []
        self.latency_ms = config.latency_ms
        # Sending.
        self.media: dict[str, dict[str, Any]] = {}
        self.clientmsgids: dict[str, tuple[int, float]] = {}
        self.mass_days: Counter[str] = Counter()
        self.mass_months: dict[str, Counter[str]] = defaultdict(Counter)
        self.jobs: dict[int, MassJob] = {}
        self.template_keys: dict[tuple[str, str], tuple[int, float]] = {}
        #: Followers who refused the account's template messages (failed:user block).
        self.template_blocked: set[str] = set()
        self.deliveries: list[Delivery] = []
        # Account operations and analytics.
        self.materials: dict[str, dict[str, Any]] = {}  # permanent material by media_id
        self.drafts: dict[str, dict[str, Any]] = {}  # the draft box by media_id
        self.publish_jobs: dict[int, PublishJob] = {}
        self.published: dict[str, dict[str, Any]] = {}  # published articles by article_id
        self.menu = menu.MenuState(panel=copy.deepcopy(config.panel_menu))
        self.qrcodes: dict[str, qrcode.QrCode] = {}  # by ticket
        self.notices = notice.NoticeState()  # subscription notices: templates, consents
        #: When the sandbox saw each follower leave (the analytics' unfollows).
        self.unfollowed_at: dict[str, float] = {}
        self._msg_id = 1_000_000_000
        self._job_queue: queue.Queue[MassJob | PublishJob | None] = queue.Queue()
        self.poster = CallbackPoster(
            config.callback_url,
            token=config.token,
            app_id=config.app_id,
            aes_key=config.aes_key,
            mode=config.mode,
            now=self.now,
            rng=random.Random(config.seed + 1),
        )
        self._worker = threading.Thread(
            target=self._run_jobs, name="sandbox-mass-jobs", daemon=True
        )
        self._worker.start()

    # -- time and ids -------------------------------------------------------------

    def now(self) -> float:
        return time.time() + self.clock_offset

    def day(self, at: float | None = None) -> str:
        """The Beijing calendar day (``YYYY-MM-DD``) of ``at`` (default now)."""
        return datetime.fromtimestamp(self.now() if at is None else at, SHANGHAI).strftime(
            "%Y-%m-%d"
        )

    def month(self, at: float | None = None) -> str:
        return self.day(at)[:7]

    def next_msg_id(self) -> int:
        self._msg_id += 1
        return self._msg_id

    # -- request entry ------------------------------------------------------------

    def fault_for(self, path: str) -> FaultRule | None:
        """Take the first matching fault (counting down ``times``)."""
        with self.lock:
            for rule in self.faults:
                if not rule.matches(path) or (rule.times is not None and rule.times <= 0):
                    continue
                if rule.rate < 1.0 and self.rng.random() >= rule.rate:
                    continue
                if rule.times is not None:
                    rule.times -= 1
                return rule
        return None

    def handle(
        self, method: str, path: str, query: dict[str, str], body: bytes, content_type: str
    ) -> dict[str, Any]:
        """Answer one API call as WeChat would (errors as ``{"errcode", "errmsg"}``)."""
        route = ROUTES.get(path)
        with self.lock:
            self.calls[path] += 1
        if route is None:
            return error_answer(ApiError(48001))
        try:
            with self.lock:
                quota.count_call(self, path)
                if path not in token.TOKEN_FREE:
                    token.check_token(self, query.get("access_token", ""))
                payload: Any = None
                if route.json_body:
                    if not body:
                        raise ApiError(44002)
                    try:
                        payload = json.loads(body.decode("utf-8"))
                    except (UnicodeDecodeError, ValueError):
                        raise ApiError(47001) from None
                    if not isinstance(payload, dict):
                        raise ApiError(47001)
                result = route.handler(
                    self, query, payload if route.json_body else (body, content_type)
                )
        except ApiError as exc:
            return error_answer(exc)
        return {"errcode": 0, "errmsg": "ok", **result} if route.with_ok else result

    def invalidate_tokens(self) -> None:
        """Every token stops working now (as after a forced refresh elsewhere)."""
        with self.lock:
            self.tokens.clear()
            self.stable_current = None

    # -- deliveries, jobs and callbacks ---------------------------------------------

    def deliver(
        self,
        kind: str,
        openid: str,
        msg_id: int | None,
        key: str,
        msgtype: str,
        title: str,
        data: dict[str, str] | None = None,
    ) -> None:
        """Record that a message reached a follower (``data``: a template's fields as shown)."""
        self.deliveries.append(
            Delivery(
                len(self.deliveries) + 1, kind, openid, msg_id, self.now(), key, msgtype, title,
                dict(data or {}),
            )
        )

    def enqueue_job(self, job: MassJob | PublishJob) -> None:
        self._job_queue.put(job)

    def _run_jobs(self) -> None:
        while True:
            job = self._job_queue.get()
            try:
                if job is None:
                    return
                if isinstance(job, PublishJob):
                    freepublish.run_job(self, job)
                else:
                    message.run_job(self, job)
            finally:
                self._job_queue.task_done()

    def callback(
        self, kind: str, openid: str, fields: dict[str, Any], at: float | None = None
    ) -> None:
        """Post one event or message to the product's callback URL (in the background)."""
        ordered = {
            "ToUserName": self.config.original_id,
            "FromUserName": openid,
            "CreateTime": int(self.now() if at is None else at),
            **fields,
        }
        self.poster.post(kind, openid, ordered)

    def flush(self, timeout: float = 60.0) -> None:
        """Wait for queued mass jobs and callbacks to finish."""
        deadline = time.monotonic() + timeout
        while self._job_queue.unfinished_tasks and time.monotonic() < deadline:
            time.sleep(0.01)
        self.poster.flush(max(0.1, deadline - time.monotonic()))

    def stop(self) -> None:
        self._job_queue.put(None)
        self.poster.stop()

    # -- follower activity (simulation) ------------------------------------------------

    def apply_event(self, event: dict[str, Any], *, post: bool = True) -> None:
        """Apply one world-style event (``kind``, ``openid``, ``at`` …) and post its callback."""
        kind = str(event["kind"])
        openid = str(event["openid"])
        at = timestamp(event.get("at"), self.now())
        with self.lock:
            record = self.population.get(openid)
            if kind == "subscribe":
                scene = str(event.get("scene") or "ADD_SCENE_SEARCH")
                qr = str(event.get("scene_value") or event.get("qr_scene_str") or "")
                if record is None:
                    record = self.population.add(
                        FollowerRecord(
                            openid=openid, subscribe_time=int(at), scene=scene, qr_scene_str=qr
                        )
                    )
                else:
                    self.population.set_subscribed(openid, True)
                    self.unfollowed_at.pop(openid, None)
                    mutable = self.population.mutable(openid)
                    assert mutable is not None
                    mutable.subscribe_time, mutable.scene, mutable.qr_scene_str = int(at), scene, qr
                self.tag_counts = None
                mutable = self.population.mutable(openid)
                assert mutable is not None
                mutable.last_event_at, mutable.sent_since_event = at, 0
                fields: dict[str, Any] = {"MsgType": "event", "Event": "subscribe"}
                if qr:
                    fields["EventKey"] = f"qrscene_{qr}"
                    fields["Ticket"] = "gQH" + secrets.token_urlsafe(24)
                else:
                    fields["EventKey"] = ""
            else:
                if record is None:
                    raise ApiError(40003)
                mutable = self.population.mutable(openid)
                assert mutable is not None
                if kind == "unsubscribe":
                    self.population.set_subscribed(openid, False)
                    self.unfollowed_at[openid] = at
                    self.tag_counts = None
                    fields = {"MsgType": "event", "Event": "unsubscribe", "EventKey": ""}
                elif kind == "location":
                    mutable.lat, mutable.lng = float(event["lat"]), float(event["lng"])
                    fields = {
                        "MsgType": "event",
                        "Event": "LOCATION",
                        "Latitude": f"{mutable.lat:.6f}",
                        "Longitude": f"{mutable.lng:.6f}",
                        "Precision": "30.000000",
                    }
                elif kind == "text":
                    mutable.last_message_at, mutable.sent_since_message = at, 0
                    fields = {
                        "MsgType": "text",
                        "Content": str(event.get("content", "")),
                        "MsgId": self.next_msg_id(),
                    }
                elif kind == "click":
                    mutable.last_event_at, mutable.sent_since_event = at, 0
                    fields = {
                        "MsgType": "event",
                        "Event": "CLICK",
                        "EventKey": str(event.get("key", "")),
                    }
                elif kind == "view":
                    fields = {
                        "MsgType": "event",
                        "Event": "VIEW",
                        "EventKey": str(event.get("url", "")),
                    }
                elif kind == "scan":
                    mutable.last_event_at, mutable.sent_since_event = at, 0
                    fields = {
                        "MsgType": "event",
                        "Event": "SCAN",
                        "EventKey": str(event.get("scene_value", "")),
                    }
                else:
                    return  # reads, orders…: outcomes the platform does not push
        if post:
            self.callback(kind, openid, fields, at)

    def random_events(self, count: int) -> list[dict[str, Any]]:
        """``count`` plausible follower actions (new follows, messages, clicks, locations)."""
        events: list[dict[str, Any]] = []
        with self.lock:
            for _ in range(count):
                roll = self.rng.random()
                if roll < 0.1 or self.population.subscribed_count == 0:
                    openid = "o" + secrets.token_urlsafe(21)[:27]
                    events.append(
                        {
                            "kind": "subscribe",
                            "openid": openid,
                            "scene": "ADD_SCENE_QR_CODE",
                            "scene_value": "store",
                        }
                    )
                    continue
                openid = self._random_subscriber()
                if roll < 0.15:
                    events.append({"kind": "unsubscribe", "openid": openid})
                elif roll < 0.5:
                    content = self.rng.choice(
                        ("沙发还有货吗", "周末营业吗", "多少钱", "地址在哪", "有优惠吗")
                    )
                    events.append({"kind": "text", "openid": openid, "content": content})
                elif roll < 0.7:
                    events.append(
                        {
                            "kind": "click",
                            "openid": openid,
                            "key": self.rng.choice(("NEW_ARRIVALS", "STORES", "COUPON")),
                        }
                    )
                elif roll < 0.8:
                    events.append(
                        {"kind": "view", "openid": openid, "url": "https://shop.example.com/"}
                    )
                else:
                    lat = 23.11 + self.rng.uniform(-0.1, 0.1)
                    lng = 114.41 + self.rng.uniform(-0.1, 0.1)
                    events.append(
                        {
                            "kind": "location",
                            "openid": openid,
                            "lat": round(lat, 6),
                            "lng": round(lng, 6),
                        }
                    )
        for event in events:
            event["at"] = datetime.fromtimestamp(self.now(), SHANGHAI).isoformat()
        return events

    def _random_subscriber(self) -> str:
        for _ in range(50):
            openid = self.population.openid_at(self.rng.randrange(self.population.size))
            record = self.population.get(openid)
            if record is not None and record.subscribed:
                return openid
        return next(self.population.subscribed()).openid

    def deliveries_json(
        self, openid: str = "", msg_id: str = "", kind: str = "", after: int = 0
    ) -> list[dict[str, Any]]:
        with self.lock:
            rows = self.deliveries[after:]
            return [
                d.as_json()
                for d in rows
                if (not openid or d.openid == openid)
                and (not msg_id or str(d.msg_id) == msg_id)
                and (not kind or d.kind == kind)
            ]

    def summary(self) -> dict[str, Any]:
        with self.lock:
            return {
                "app_id": self.config.app_id,
                "account_type": self.config.account_type,
                "mode": self.config.mode,
                "original_id": self.config.original_id,
                "callback_url": self.config.callback_url,
                "followers": self.population.subscribed_count,
                "now": self.now(),
                "calls": dict(self.calls),
                "calls_today": dict(self.day_calls[self.day()]),
                "token_fetches": self.calls["/cgi-bin/token"] + self.calls["/cgi-bin/stable_token"],
                "mass_jobs": {
                    str(j.msg_id): {"status": j.status, "clientmsgid": j.clientmsgid, **j.counts}
                    for j in self.jobs.values()
                },
                "deliveries": len(self.deliveries),
                "callbacks": Counter(r.outcome for r in self.poster.records),
                "faults": [f.as_json() for f in self.faults],
                "latency_ms": self.latency_ms,
            }
