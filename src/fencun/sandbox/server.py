"""The sandbox's HTTP server: WeChat's ``/cgi-bin/...`` and ``/datacube/...`` API (the
families in :mod:`fencun.sandbox.wechat`), ``showqrcode`` (on the platform's image host
``mp.weixin.qq.com``, here beside the API), plus ``/sandbox/...`` admin.

Admin endpoints (JSON):

- ``GET  /sandbox/state`` — account, follower count, calls per API, token fetches, jobs.
- ``GET  /sandbox/deliveries?openid=&msg_id=&kind=&after=`` — what reached whom.
- ``GET  /sandbox/callbacks?after=`` — callbacks posted to the product and their outcome.
- ``GET  /sandbox/followers/<openid>`` — one follower as the platform sees them.
- ``POST /sandbox/followers`` ``{"followers": [{"openid", ...}]}`` — add followers silently.
- ``POST /sandbox/events`` ``{"events": [world-style events]}`` or ``{"random": n}`` —
  follower actions, applied and posted to the product's callback.
- ``POST /sandbox/faults`` ``{"latency_ms", "rules": [{"path", "action", "errcode",
  "times", "rate", "seconds"}], "callbacks": {"drop", "duplicate", "drop_rate",
  "duplicate_rate"}}``; ``DELETE /sandbox/faults`` clears them.
- ``POST /sandbox/tokens/invalidate`` — every access_token stops working now.
- ``POST /sandbox/clock`` ``{"advance": seconds}`` — move the platform's clock.
- ``POST /sandbox/quotas`` ``{path: daily limit}``.
- ``POST /sandbox/menu/panel`` ``{"button": [...] or null, "is_menu_open": 0|1}`` — the
  operator publishes a menu in the admin panel (get_current_selfmenu_info's shape); the
  menus set by API are gone.
- ``POST /sandbox/notices/popup`` ``{"openid", "choices": {template_id: "accept"|"reject"},
  "scene"}`` — a follower answers a subscription-notice popup (posted as the platform does);
  ``POST /sandbox/notices/refuse`` ``{"openid", "templates": [...]}`` — turns them off.
- ``POST /sandbox/templates/block`` ``{"openid", "blocked": true|false}`` — the follower
  refuses the account's template messages (their sends end ``failed:user block``).
- ``POST /sandbox/flush`` — wait until mass jobs and callbacks are done.
- ``POST /sandbox/world/day`` ``{"date": "YYYY-MM-DD"}`` — one day of the loaded world.
"""

from __future__ import annotations

import importlib
import json
import logging
import threading
import time
from collections.abc import Mapping
from dataclasses import replace
from datetime import date, datetime
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from fencun.sandbox.http import JsonHandler, JsonServer
from fencun.sandbox.wechat import menu, notice, qrcode, template
from fencun.sandbox.wechat.errors import ApiError
from fencun.sandbox.wechat.errors import error_answer as _error
from fencun.sandbox.wechat.platform import Platform
from fencun.sandbox.wechat.state import SHANGHAI, Config, FaultRule
from fencun.sandbox.wechat.state import timestamp as _timestamp

log = logging.getLogger(__name__)

MAX_BODY = 20 << 20
#: What a world's followers do that WeChat does not report to the account.
OUTCOME_KINDS = frozenset({"read", "link_click", "order"})


class _Server(JsonServer):
    request_queue_size = 256
    platform: Platform
    sandbox: Sandbox


class _Handler(JsonHandler):
    server: _Server
    content_type = "application/json; encoding=utf-8"
    max_body = MAX_BODY

    def _dispatch(self, method: str) -> None:
        parts = urlsplit(self.path)
        query = dict(parse_qsl(parts.query, keep_blank_values=True))
        try:
            body = self._body()
        except ValueError:
            self._refuse_too_large({"errcode": 40006, "errmsg": "invalid media size"})
            return
        if parts.path == "/cgi-bin/showqrcode":
            self._qr_image(query.get("ticket", ""))
        elif parts.path.startswith(("/cgi-bin/", "/datacube/", "/wxaapi/")):
            self._api(method, parts.path, query, body)
        elif parts.path.startswith("/sandbox/"):
            try:
                status, payload = self.server.sandbox.admin(method, parts.path, query, body)
            except (ValueError, KeyError, TypeError) as exc:
                status, payload = 400, {"error": f"{type(exc).__name__}: {exc}"}
            except ApiError as exc:
                status, payload = 400, _error(exc)
            self._send(status, payload)
        else:
            self._send(404, {"errcode": 404, "errmsg": "not found"})

    def _qr_image(self, ticket: str) -> None:
        # The image host answers a picture, not JSON: 404 for a bad or expired ticket.
        image = qrcode.show(self.server.platform, ticket)
        if image is None:
            self._send(404, {"errcode": 404, "errmsg": "not found"})
            return
        self.send_response(200)
        self.send_header("Content-Type", "image/jpg")
        self.send_header("Content-Length", str(len(image)))
        self.end_headers()
        self.wfile.write(image)

    def _api(self, method: str, path: str, query: dict[str, str], body: bytes) -> None:
        platform = self.server.platform
        if platform.latency_ms:
            time.sleep(platform.latency_ms / 1000)
        rule = platform.fault_for(path)
        content_type = self.headers.get("Content-Type", "")
        if rule is not None and rule.action == "error":
            with platform.lock:
                platform.calls[path] += 1
            self._send(200, _error(ApiError(rule.errcode)))
            return
        if rule is not None and rule.action == "timeout":
            time.sleep(rule.seconds)
            self._send(200, _error(ApiError(-1)))
            return
        if rule is not None and rule.action == "latency":
            time.sleep(rule.seconds)
        answer = platform.handle(method, path, query, body, content_type)
        if rule is not None and rule.action == "timeout_after":
            time.sleep(rule.seconds)  # the platform acted; the answer comes too late
        self._send(200, answer)


class Sandbox:
    """A running sandbox: ``Sandbox(Config(...)).start()``; ``api_base`` for the client."""

    def __init__(
        self,
        config: Config | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        **overrides: Any,
    ) -> None:
        self.config = replace(config or Config(), **overrides)
        self.platform = Platform(self.config)
        self._server = _Server((host, port), _Handler)
        self._server.platform = self.platform
        self._server.sandbox = self
        self._thread: threading.Thread | None = None
        self.world: Any = None
        self._world_cursor = 0
        self._activity: threading.Thread | None = None
        self._stopping = threading.Event()

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    @property
    def host(self) -> str:
        return str(self._server.server_address[0])

    @property
    def api_base(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> Sandbox:
        # A short poll keeps stop() quick: tests start and stop many sandboxes.
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="sandbox-http",
            daemon=True,
        )
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        self._server.serve_forever()

    def stop(self) -> None:
        self._stopping.set()
        self._server.shutdown()
        self._server.server_close()
        self.platform.stop()

    def __enter__(self) -> Sandbox:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- in-process helpers (the same as the admin endpoints) -------------------------

    def deliveries(
        self, openid: str = "", msg_id: int | str = "", kind: str = "", after: int = 0
    ) -> list[dict[str, Any]]:
        """The delivery record (from the ``after``-th entry on), optionally filtered."""
        return self.platform.deliveries_json(openid, str(msg_id), kind, after)

    def flush(self, timeout: float = 60.0) -> None:
        self.platform.flush(timeout)

    def invalidate_tokens(self) -> None:
        self.platform.invalidate_tokens()

    def advance_clock(self, seconds: float) -> None:
        with self.platform.lock:
            self.platform.clock_offset += seconds

    def set_now(self, epoch: float) -> None:
        """Set the platform's clock to read ``epoch`` now (a simulation's calendar)."""
        with self.platform.lock:
            self.platform.clock_offset = epoch - time.time()

    def set_faults(
        self,
        rules: list[dict[str, Any]] | None = None,
        *,
        latency_ms: float | None = None,
        callbacks: dict[str, Any] | None = None,
        append: bool = False,
    ) -> None:
        platform = self.platform
        with platform.lock:
            if rules is not None:
                parsed = [FaultRule(**rule) for rule in rules]
                platform.faults = [*platform.faults, *parsed] if append else parsed
            if latency_ms is not None:
                platform.latency_ms = float(latency_ms)
        if callbacks is not None:
            faults = platform.poster.faults
            for key, value in callbacks.items():
                if not hasattr(faults, key):
                    raise KeyError(key)
                setattr(faults, key, type(getattr(faults, key))(value))

    def clear_faults(self) -> None:
        self.set_faults(
            [],
            latency_ms=self.config.latency_ms,
            callbacks={"drop": 0, "duplicate": 0, "drop_rate": 0.0, "duplicate_rate": 0.0},
        )

    def set_panel_menu(self, buttons: list[dict[str, Any]] | None, *, is_open: bool = True) -> None:
        """The operator publishes ``buttons`` in the admin panel (as
        get_current_selfmenu_info answers them; None: no menu), replacing the API's."""
        menu.set_panel(self.platform, buttons, is_open=is_open)

    def block_templates(self, openid: str, *, blocked: bool = True) -> None:
        """The follower refuses (or accepts again) the account's template messages."""
        with self.platform.lock:
            template.block(self.platform, openid, blocked)

    def post_events(self, events: list[dict[str, Any]], *, wait: bool = True) -> int:
        for event in events:
            self.platform.apply_event(event)
        if wait:
            self.flush()
        return len(events)

    def state(self) -> dict[str, Any]:
        return self.platform.summary()

    def follower(self, openid: str) -> dict[str, Any] | None:
        with self.platform.lock:
            record = self.platform.population.get(openid)
            return None if record is None else dict(record.__dict__)

    # -- worlds and background activity ----------------------------------------------

    def load_world(self, spec: str, scenario: dict[str, Any], seed: int) -> int:
        """Load followers from a world (``module:factory``, DESIGN.md's world protocol:
        ``FACTORY(scenario).start(seed)`` returns event dicts); returns how many events
        were applied (silently: the product learns them by ``fencun sync``)."""
        module_name, _, factory_name = spec.partition(":")
        factory = getattr(importlib.import_module(module_name), factory_name or "make_world")
        self.world = factory(scenario)
        events = list(self.world.start(seed))
        # A world lists events by follower, not by time: a follower's click may come
        # before their subscribe in the list. Apply them in time order (stable sort).
        events.sort(key=lambda e: _timestamp(e.get("at"), 0.0))
        skipped = 0
        for event in events:
            try:
                self.platform.apply_event(event, post=False)
            except ApiError:
                skipped += 1  # an action of someone not (yet) following: WeChat has none
        if skipped:
            log.warning("%d world events of non-followers skipped", skipped)
        return len(events) - skipped

    def world_day(
        self,
        day: date,
        campaigns: Mapping[str, Mapping[str, Any]] | None = None,
        *,
        wait: bool = False,
    ) -> list[dict[str, Any]]:
        """Run one day of the world: the messages delivered since the last call go in, the
        followers' answers come out.

        WeChat does not know what a message was about; ``campaigns`` tells the world, keyed
        by the send's clientmsgid (or msg_id): ``campaign`` id, ``category``, ``products``.
        What WeChat reports (follows, unfollows, messages, menu clicks, locations) is posted
        to the callback; the rest (reads, link clicks, orders, which a product learns
        through its own links and order import) is returned.
        """
        if self.world is None:
            raise ValueError("no world loaded (start with --world MODULE:FACTORY)")
        with self.platform.lock:
            fresh = self.platform.deliveries[self._world_cursor :]
            self._world_cursor = len(self.platform.deliveries)
        campaigns = campaigns or {}
        deliveries = []
        for d in fresh:
            if d.kind not in ("mass", "custom", "template"):
                continue
            key = d.key or (str(d.msg_id) if d.msg_id else "")
            about = campaigns.get(key) or campaigns.get(str(d.msg_id)) or {}
            deliveries.append(
                {
                    "openid": d.openid,
                    "campaign": str(about.get("campaign") or key),
                    "at": datetime.fromtimestamp(d.at, SHANGHAI).isoformat(),
                    "title": d.title,
                    "category": str(about.get("category") or ""),
                    "products": list(about.get("products") or []),
                }
            )
        events = list(self.world.day(day, deliveries))
        self.post_events([e for e in events if e.get("kind") not in OUTCOME_KINDS], wait=wait)
        return [e for e in events if e.get("kind") in OUTCOME_KINDS]

    def start_activity(self, per_minute: float) -> None:
        """Post ``per_minute`` random follower actions a minute until stopped."""
        if per_minute <= 0:
            return

        def run() -> None:
            interval = 60.0 / per_minute
            while not self._stopping.wait(interval):
                try:
                    self.post_events(self.platform.random_events(1), wait=False)
                except Exception:
                    log.exception("simulated activity failed")

        self._activity = threading.Thread(target=run, name="sandbox-activity", daemon=True)
        self._activity.start()

    # -- admin over HTTP --------------------------------------------------------------

    def admin(self, method: str, path: str, query: dict[str, str], body: bytes) -> tuple[int, Any]:
        data: dict[str, Any] = json.loads(body) if body else {}
        route = (method, path)
        if route == ("GET", "/sandbox/state"):
            return 200, self.state()
        if route == ("GET", "/sandbox/deliveries"):
            rows = self.platform.deliveries_json(
                query.get("openid", ""),
                query.get("msg_id", ""),
                query.get("kind", ""),
                int(query.get("after") or 0),
            )
            return 200, {"count": len(rows), "deliveries": rows}
        if route == ("GET", "/sandbox/callbacks"):
            after = int(query.get("after") or 0)
            with self.platform.lock:
                rows = [r.as_json() for r in self.platform.poster.records[after:]]
            return 200, {"count": len(rows), "callbacks": rows}
        if method == "GET" and path.startswith("/sandbox/followers/"):
            record = self.follower(path.rsplit("/", 1)[1])
            return (404, {"error": "unknown openid"}) if record is None else (200, record)
        if route == ("POST", "/sandbox/followers"):
            from fencun.sandbox.population import FollowerRecord

            with self.platform.lock:
                for item in data.get("followers", []):
                    item.setdefault("subscribe_time", int(self.platform.now()))
                    self.platform.population.add(FollowerRecord(**item))
                self.platform.tag_counts = None
            return 200, {"followers": self.platform.population.subscribed_count}
        if route == ("POST", "/sandbox/events"):
            events = data.get("events") or self.platform.random_events(int(data.get("random") or 0))
            count = self.post_events(events, wait=bool(data.get("wait", True)))
            return 200, {"posted": count}
        if route == ("POST", "/sandbox/faults"):
            self.set_faults(
                data.get("rules"),
                latency_ms=data.get("latency_ms"),
                callbacks=data.get("callbacks"),
                append=bool(data.get("append")),
            )
            return 200, {
                "faults": [f.as_json() for f in self.platform.faults],
                "latency_ms": self.platform.latency_ms,
            }
        if route == ("DELETE", "/sandbox/faults"):
            self.clear_faults()
            return 200, {"faults": []}
        if route == ("POST", "/sandbox/tokens/invalidate"):
            self.invalidate_tokens()
            return 200, {"invalidated": True}
        if route == ("POST", "/sandbox/clock"):
            self.advance_clock(float(data.get("advance", 0)))
            return 200, {"now": self.platform.now()}
        if route == ("POST", "/sandbox/quotas"):
            with self.platform.lock:
                self.platform.quotas.update({str(k): int(v) for k, v in data.items()})
            return 200, {"quotas": self.platform.quotas}
        if route == ("POST", "/sandbox/menu/panel"):
            self.set_panel_menu(data.get("button"), is_open=bool(data.get("is_menu_open", 1)))
            return 200, {"panel": True}
        if route == ("POST", "/sandbox/notices/popup"):
            notice.popup(self.platform, str(data["openid"]), dict(data["choices"]), int(data.get("scene", 1)))
            return 200, {"popup": True}
        if route == ("POST", "/sandbox/notices/refuse"):
            notice.refuse(self.platform, str(data["openid"]), list(data["templates"]))
            return 200, {"refused": True}
        if route == ("POST", "/sandbox/templates/block"):
            try:
                self.block_templates(str(data["openid"]), blocked=bool(data.get("blocked", True)))
            except ApiError:
                return 404, {"error": "unknown openid"}
            return 200, {"blocked": bool(data.get("blocked", True))}
        if route == ("POST", "/sandbox/flush"):
            self.flush(float(data.get("timeout", 60)))
            return 200, {"flushed": True}
        if route == ("POST", "/sandbox/world/day"):
            outcomes = self.world_day(date.fromisoformat(str(data["date"])), data.get("campaigns"))
            return 200, {"outcomes": outcomes}
        return 404, {"error": f"no admin endpoint {method} {path}"}
