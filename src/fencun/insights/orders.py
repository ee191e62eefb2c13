"""Orders from the shop: validated, matched to a follower and attributed to a campaign.

An order becomes one ``order`` event (``amount`` in yuan, ``product``, ``campaign`` or
null), de-duplicated by the shop's order id, so an import or a webhook delivered twice
stores it once. Attribution is last touch within the window (default 7 days, setting
``FENCUN_ATTRIBUTION_DAYS``): the follower's latest tracked-link click, campaign
delivery whose coupon the order carries, or scan/subscribe with a campaign's QR scene.
A batch is validated whole before anything is written, and written in one transaction.
"""

from __future__ import annotations

import csv
import io
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _

from fencun import clock, inputs
from fencun.accounts.models import Account
from fencun.audience import kinds
from fencun.audience.models import Event, Follower
from fencun.audience.services import NewEvent, record_events
from fencun.insights.models import AttributionCode

SOURCE = "orders"
DELIVERY_KIND = kinds.DELIVERY
MAX_AMOUNT = Decimal("100000000")


def attribution_window() -> timedelta:
    """The attribution window (``FENCUN_ATTRIBUTION_DAYS``, default 7 days)."""
    from django.conf import settings

    days = getattr(settings, "FENCUN_ATTRIBUTION_DAYS", None) or os.environ.get("FENCUN_ATTRIBUTION_DAYS") or 7
    return timedelta(days=float(days))


class OrderError(ValueError):
    """One or more orders are invalid; ``errors`` lists ``(row, message)``; nothing was stored."""

    def __init__(self, errors: list[tuple[int, str]]) -> None:
        self.errors = errors
        super().__init__("; ".join(f"row {row}: {msg}" for row, msg in errors[:20]))


@dataclass(frozen=True)
class OrderIn:
    order_id: str
    amount: Decimal
    ordered_at: datetime
    openid: str = ""
    unionid: str = ""
    product: str | None = None
    coupon: str = ""
    scene: str = ""


@dataclass(frozen=True)
class OrderResult:
    order_id: str
    created: bool
    openid: str
    campaign: int | None
    attributed_by: str | None


def _shown(value: object) -> str:
    """``value`` as an error message quotes it: at most 40 characters, control characters escaped."""
    text = str(value)
    return repr(text[:40] + "…" if len(text) > 40 else text)


def parse_order(raw: Mapping[str, Any]) -> OrderIn:
    """Validate one order given as a mapping of strings/numbers; ``ValueError`` says why."""

    def text(name: str, limit: int = 64) -> str:
        value = raw.get(name)
        value = "" if value is None else str(value).strip()
        return inputs.check_text(value, name, limit)

    order_id = text("order_id", 100)
    if not order_id:
        raise ValueError(_("order_id is required"))
    try:
        amount = Decimal(str(raw.get("amount", "")).strip())
    except InvalidOperation:
        raise ValueError(_("amount is not a number: %(value)s") % {"value": _shown(raw.get("amount"))}) from None
    if not amount.is_finite() or amount < 0 or amount > MAX_AMOUNT:
        raise ValueError(_("amount out of range: %(value)s") % {"value": _shown(raw.get("amount"))})
    when = raw.get("ordered_at")
    ordered_at: datetime | None
    if isinstance(when, datetime):
        ordered_at = when
    else:
        try:
            ordered_at = parse_datetime(str(when or "").strip())
        except ValueError:
            ordered_at = None
        if ordered_at is None:
            raise ValueError(_("ordered_at is not an ISO 8601 time: %(value)s") % {"value": _shown(when)})
    if timezone.is_naive(ordered_at):
        ordered_at = timezone.make_aware(ordered_at)  # the project's zone, Asia/Shanghai
    inputs.check_time(ordered_at, "ordered_at")
    openid, unionid = text("openid"), text("unionid")
    if not openid and not unionid:
        raise ValueError(_("openid or unionid is required"))
    product = text("product") or None
    return OrderIn(order_id, amount.quantize(Decimal("0.01")), ordered_at, openid, unionid, product,
                   text("coupon"), text("scene"))


def _resolve_openid(account: Account, order: OrderIn) -> str:
    if order.openid:
        return order.openid
    follower = Follower.objects.filter(account=account, unionid=order.unionid).order_by("id").first()
    if follower is None:
        raise ValueError(_("no follower with unionid %(value)s") % {"value": _shown(order.unionid)})
    return follower.openid


def attribute(account: Account, openid: str, order: OrderIn, window: timedelta) -> tuple[int | None, str | None]:
    """The campaign that last touched this follower within ``window`` before the order,
    and how (``link``, ``coupon`` or ``scene``); ``(None, None)`` if none did."""
    since, until = order.ordered_at - window, order.ordered_at
    touches: list[tuple[datetime, int, str]] = []
    coupon = scene_campaign = None
    if order.coupon:
        coupon = AttributionCode.objects.filter(account=account, kind="coupon", code=order.coupon).first()
    if order.scene:
        scene_campaign = AttributionCode.objects.filter(account=account, kind="scene", code=order.scene).first()
    scene_codes = dict(AttributionCode.objects.filter(account=account, kind="scene").values_list("code", "campaign_id"))
    rows = Event.objects.filter(
        account=account,
        openid=openid,
        occurred_at__gte=since,
        occurred_at__lte=until,
        kind__in=[kinds.LINK_CLICK, DELIVERY_KIND, kinds.SCAN, kinds.SUBSCRIBE],
    ).values_list("kind", "occurred_at", "payload")
    for kind, at, payload in rows:
        payload = payload or {}
        if kind == kinds.LINK_CLICK and payload.get("campaign") is not None:
            touches.append((at, int(payload["campaign"]), "link"))
        elif kind == DELIVERY_KIND and coupon is not None and payload.get("campaign") == coupon.campaign_id:
            touches.append((at, coupon.campaign_id, "coupon"))
        elif kind in (kinds.SCAN, kinds.SUBSCRIBE) and str(payload.get("scene_value") or "") in scene_codes:
            touches.append((at, scene_codes[str(payload["scene_value"])], "scene"))
    # A coupon or a scene on the order itself counts from when the code was issued.
    for code, how in ((coupon, "coupon"), (scene_campaign, "scene")):
        if code is not None and since <= code.created_at <= until:
            touches.append((code.created_at, code.campaign_id, how))
    if not touches:
        return None, None
    at, campaign, how = max(touches, key=lambda t: t[0])
    return campaign, how


def import_orders(account: Account, rows: Iterable[Mapping[str, Any]]) -> list[OrderResult]:
    """Validate every row, then store them all in one transaction, or none.

    Raises :class:`OrderError` listing every bad row (1-based) when any is bad. Orders
    whose id is already stored come back with ``created=False`` and change nothing.
    """
    parsed: list[OrderIn] = []
    errors: list[tuple[int, str]] = []
    seen: dict[str, int] = {}
    for number, raw in enumerate(rows, start=1):
        try:
            order = parse_order(raw)
            if order.order_id in seen:
                raise ValueError(
                    _("order_id %(value)s repeats row %(row)d")
                    % {"value": _shown(order.order_id), "row": seen[order.order_id]}
                )
            seen[order.order_id] = number
            parsed.append(order)
        except ValueError as exc:
            errors.append((number, str(exc)))
    if not parsed and not errors:
        raise OrderError([(0, _("no orders"))])
    window = attribution_window()
    new: list[NewEvent] = []
    meta: list[tuple[str, int | None, str | None]] = []
    for order in parsed:
        try:
            openid = _resolve_openid(account, order)
        except ValueError as exc:
            errors.append((seen[order.order_id], str(exc)))
            continue
        campaign, how = attribute(account, openid, order, window)
        payload = {
            "order_id": order.order_id,
            "amount": float(order.amount),
            "product": order.product,
            "campaign": campaign,
            "attributed_by": how,
            "coupon": order.coupon or None,
            "scene": order.scene or None,
        }
        new.append(NewEvent(kinds.ORDER, openid, order.ordered_at, payload, SOURCE, f"order:{order.order_id}"))
        meta.append((openid, campaign, how))
    if errors:
        raise OrderError(sorted(errors))
    with transaction.atomic():
        recorded = record_events(account, new)
    return [
        OrderResult(r.event.payload.get("order_id", o.order_id), r.created, openid, r.event.payload.get("campaign"),
                    r.event.payload.get("attributed_by"))
        for r, o, (openid, _c, _h) in zip(recorded, parsed, meta, strict=True)
    ]


CSV_COLUMNS = ("order_id", "amount", "ordered_at", "openid", "unionid", "product", "coupon", "scene")


def read_csv(text: str) -> list[dict[str, str]]:
    """Rows of an orders CSV (UTF-8, header row); ``OrderError`` for a bad header."""
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    try:
        header = [h.strip() for h in (reader.fieldnames or [])]
    except csv.Error as exc:
        raise OrderError([(0, _("not a CSV file: %(error)s") % {"error": exc})]) from None
    missing = {"order_id", "amount", "ordered_at"} - set(header)
    if missing:
        raise OrderError([(0, _("header lacks %(columns)s") % {"columns": ", ".join(sorted(missing))})])
    unknown = set(header) - set(CSV_COLUMNS)
    if unknown:
        raise OrderError([(0, _("unknown columns %(columns)s") % {"columns": ", ".join(sorted(unknown))})])
    rows: list[dict[str, str]] = []
    try:
        for row in reader:
            rows.append({(k or "").strip(): v for k, v in row.items()})
    except csv.Error as exc:  # a field over the csv module's limit, a stray quote…
        raise OrderError([(len(rows) + 1, _("not a CSV row: %(error)s") % {"error": exc})]) from None
    return rows


def register_code(account: Account, kind: str, code: str, campaign_id: int, at: datetime | None = None) -> None:
    """Make a coupon code or QR scene value attribute orders to ``campaign_id``."""
    if kind not in AttributionCode.Kind.values:
        raise ValueError(f"kind must be coupon or scene, not {kind!r}")
    AttributionCode.objects.update_or_create(
        account=account, kind=kind, code=code,
        defaults={"campaign_id": campaign_id, "created_at": at or clock.now()},
    )
