"""A/B title variants: who gets which title, and when the rest gets the winner.

Variant ``A`` is the campaign's ``title``; ``B``, ``C``… are its ``title_variants``. At
approval each recipient is placed by a hash of (campaign id, openid), so the split is
the same however often it is computed: a share ``variant_split`` of the audience is the
test, divided evenly between the variants; the rest are written to the outbox *held*.
Once every test row is finished and ``variant_test_minutes`` have passed since the last
test send, the scheduler measures each variant from the event log by ``winner_rule``
and releases the held rows with the winner's title, in one transaction (to go out when
the merchant's quiet hours end, if the decision falls in them).

Subscription accounts cannot run a title test by mass send: the platform allows one
mass send a day and it is the same message for everyone, so a split would either use
several days' sends or not be a split at all. Such campaigns are refused at creation and
at approval. Customer-service messages go to one follower each and may be tested on any
account.
"""

from __future__ import annotations

import hashlib
import string
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from django.db import transaction
from django.db.models import Max

from fencun.audience import kinds
from fencun.audience.models import Event

LETTERS = string.ascii_uppercase
MAX_VARIANTS = 5  # besides A: titles B–F
TITLE_MAX_CHARS = 64  # WeChat's article title limit
REST = "rest"
RULES = {
    "read_rate": "阅读率",
    "click_rate": "点击率",
    "order_rate": "下单率",
}
DEFAULT_RULE = "read_rate"


class VariantError(ValueError):
    """A/B settings the campaign cannot run with; the message says why (Chinese first)."""


def is_ab(campaign: Any) -> bool:
    """Whether the campaign tests title variants."""
    return bool(campaign.title_variants) or float(campaign.variant_split or 0) > 0


def letters_of(campaign: Any) -> list[str]:
    """The campaign's variant letters: ``["A"]`` without a test, else A, B, C…"""
    return list(LETTERS[: 1 + len(campaign.title_variants or [])])


def rule_of(campaign: Any) -> str:
    return campaign.winner_rule or DEFAULT_RULE


def check(
    *,
    account_type: str,
    channel: str,
    message_type: str,
    title: str,
    title_variants: Any,
    variant_split: float,
    winner_rule: str,
    media_id: str = "",
) -> None:
    """Refuse A/B settings that cannot run as asked (raises :class:`VariantError`)."""
    if winner_rule and winner_rule not in RULES:
        raise VariantError(
            f"胜出规则只能是 {'、'.join(RULES)}（unknown winner rule {winner_rule!r}）"
        )
    if not title_variants and not variant_split:
        return
    if not isinstance(title_variants, list) or not title_variants:
        raise VariantError("A/B 测试至少需要一个备选标题（title_variants is empty）")
    if not 0 < float(variant_split) <= 1:
        raise VariantError("A/B 测试比例须大于 0、不超过 1（variant_split must be in (0, 1]）")
    if len(title_variants) > MAX_VARIANTS:
        raise VariantError(f"备选标题最多 {MAX_VARIANTS} 个（at most {MAX_VARIANTS} title variants）")
    titles = [title, *title_variants]
    for t in titles:
        if not isinstance(t, str) or not t.strip():
            raise VariantError("A/B 测试的每个标题都不能为空，包括活动标题（every title must be non-empty）")
        if len(t) > TITLE_MAX_CHARS:
            raise VariantError(f"标题「{t[:20]}…」超过 {TITLE_MAX_CHARS} 字（title too long）")
    if len({t.strip() for t in titles}) != len(titles):
        raise VariantError("A/B 测试的标题不能重复（titles must differ）")
    if message_type == "image":
        raise VariantError("图片消息没有标题，不能做标题 A/B 测试（image messages have no title）")
    if message_type == "news" and media_id:
        raise VariantError(
            "图文 A/B 测试需要由分寸按各版本标题上传图文，请清空 media_id"
            "（an uploaded article has one fixed title）"
        )
    if account_type == "subscription" and channel == "mass":
        raise VariantError(
            "订阅号每天只能群发一次，且所有人收到同一条消息，无法做标题 A/B 测试；"
            "请改用服务号，或用客服消息发送（subscription accounts: one identical mass send a day）"
        )


def check_campaign(campaign: Any) -> None:
    """:func:`check` on a saved campaign (its account loaded)."""
    check(
        account_type=campaign.account.account_type,
        channel=campaign.channel,
        message_type=campaign.message_type,
        title=campaign.title,
        title_variants=campaign.title_variants,
        variant_split=campaign.variant_split,
        winner_rule=campaign.winner_rule,
        media_id=campaign.media_id,
    )


def assign(campaign_id: int, openid: str, split: float, arms: int) -> str:
    """The variant letter of ``openid`` in campaign ``campaign_id``, or ``REST``.

    One uniform draw from the hash: below ``split`` it is the test, and its position
    within the test picks the variant, so each variant gets ``split / arms`` of the
    audience in expectation.
    """
    digest = hashlib.sha256(f"{campaign_id}:{openid}".encode()).digest()
    u = int.from_bytes(digest[:8], "big") / 2**64
    if u >= split:
        return REST
    return LETTERS[min(int(u / split * arms), arms - 1)]


def split(campaign: Any, openids: Sequence[str]) -> dict[str, list[str]]:
    """Recipients by variant letter (and ``REST``), in the plan's order."""
    letters = letters_of(campaign)
    parts: dict[str, list[str]] = {letter: [] for letter in letters}
    parts[REST] = []
    share = float(campaign.variant_split)
    for openid in openids:
        parts[assign(campaign.pk, openid, share, len(letters))].append(openid)
    return parts


def letter_of(variant: str) -> str:
    """The title's letter of an outbox row's variant (``rest:B`` sends B's title)."""
    if variant.startswith(REST + ":"):
        return variant.split(":", 1)[1]
    if variant == REST:
        raise ValueError("a held row has no title until the winner is decided")
    return variant or "A"


def title_of(campaign: Any, variant: str) -> str:
    """The title an outbox row of ``variant`` sends."""
    index = LETTERS.index(letter_of(variant))
    if index == 0:
        return campaign.title
    return campaign.title_variants[index - 1]


# ----- the decision ---------------------------------------------------------------------
@dataclass
class Measured:
    members: int = 0
    read: int = 0
    clicked: int = 0
    ordered: int = 0

    def rate(self, rule: str) -> float:
        hits = {"read_rate": self.read, "click_rate": self.clicked, "order_rate": self.ordered}[rule]
        return hits / self.members if self.members else 0.0


def measure(campaign: Any) -> dict[str, Measured]:
    """Each variant's recipients (sent test rows) and how many of them read, clicked a
    tracked link and ordered (orders attributed to the campaign), from the event log."""
    from fencun.campaigns.models import OutboxItem

    by_openid: dict[str, str] = {}
    out = {letter: Measured() for letter in letters_of(campaign)}
    sent_at: list[datetime] = []
    for variant, openids, at in OutboxItem.objects.filter(
        campaign=campaign, status=OutboxItem.Status.SENT, variant__in=list(out)
    ).values_list("variant", "openids", "sent_at"):
        for openid in openids:
            by_openid[openid] = variant
        out[variant].members += len(openids)
        if at is not None:
            sent_at.append(at)
    if not sent_at:
        return out
    first_sent = min(sent_at)
    seen: set[tuple[str, str]] = set()
    field = {kinds.READ: "read", kinds.LINK_CLICK: "clicked", kinds.ORDER: "ordered"}
    events = Event.objects.filter(
        account_id=campaign.account_id, kind__in=list(field), occurred_at__gte=first_sent
    ).values_list("kind", "openid", "payload")
    for kind, openid, payload in events.iterator(chunk_size=2000):
        letter = by_openid.get(openid)
        if letter is None or not isinstance(payload, dict) or payload.get("campaign") != campaign.pk:
            continue
        if (kind, openid) in seen:  # a follower counts once per outcome
            continue
        seen.add((kind, openid))
        m = out[letter]
        setattr(m, field[kind], getattr(m, field[kind]) + 1)
    return out


def winner(measured: dict[str, Measured], rule: str) -> str:
    """The variant with the highest rate by ``rule``; a tie goes to the earlier letter
    (A, the campaign's own title, first)."""
    return max(sorted(measured), key=lambda v: (measured[v].rate(rule), -LETTERS.index(v)))


def decide_due(now: datetime) -> list[int]:
    """Decide the winner of every A/B campaign whose test is over and release its held
    rows with the winner's title. Returns the ids of campaigns decided.

    A campaign tested on its whole audience (``variant_split`` 1) holds no rows and is done
    when the test is sent; its winner is still decided, for the report. Called by the
    scheduler's lease holder; the conditional updates make a second caller change nothing.
    """
    from fencun.campaigns.models import Campaign, OutboxItem

    OS = OutboxItem.Status
    decided: list[int] = []
    waiting = (
        Campaign.objects.filter(
            status__in=(Campaign.Status.SENDING, Campaign.Status.DONE), ab_winner="", variant_split__gt=0
        )
        .exclude(title_variants=[])
        .select_related("account")
    )
    for campaign in waiting:
        test = OutboxItem.objects.filter(campaign=campaign).exclude(variant__startswith=REST)
        if test.filter(status__in=(OS.PENDING, OS.CLAIMED)).exists():
            continue
        last = test.aggregate(m=Max("sent_at"))["m"]
        if last is not None and now < last + timedelta(minutes=campaign.variant_test_minutes):
            continue
        rule = rule_of(campaign)
        measured = measure(campaign)
        best = winner(measured, rule)
        results = {
            v: {**vars(m), "rate": round(m.rate(rule), 6)} for v, m in measured.items()
        }
        with transaction.atomic():
            if not Campaign.objects.filter(pk=campaign.pk, ab_winner="").update(
                ab_winner=best, ab_decided_at=now, ab_results=results
            ):
                continue
            OutboxItem.objects.filter(campaign=campaign, status=OS.HELD).update(
                status=OS.PENDING, variant=f"{REST}:{best}", not_before=_after_quiet_hours(campaign, now)
            )
        decided.append(campaign.pk)
    return decided


def _after_quiet_hours(campaign: Any, at: datetime) -> datetime | None:
    """The end of the merchant's quiet hours if ``at`` falls in them (the rest is sent
    then, not at night), else None."""
    from fencun.campaigns.services import rules_for

    rules = rules_for(campaign.account).as_engine_rules()
    t = at.timestamp()
    if not rules.in_quiet_hours(t):
        return None
    t = (t // 60 + 1) * 60
    for _ in range(24 * 60):
        if not rules.in_quiet_hours(t):
            return datetime.fromtimestamp(t, UTC)
        t += 60
    return None
