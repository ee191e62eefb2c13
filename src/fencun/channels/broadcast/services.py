"""Broadcast posts: create (linted), schedule (capped), and post what is due, once.

Two broadcast channels: a Weibo post (``weibo``, everyone) and a post to WeCom customer
Moments (``wecom_moments``, every customer of the members who confirm it). Each has the
merchant's caps per day and week, counted per channel, and its platform's own limit
(Weibo's posts per hour, WeCom's Moments per customer per day).

Posting exactly once: Weibo takes no idempotency key, so the guard is ours. A due post is
*claimed* by moving it from ``scheduled`` to ``posting`` in one conditional UPDATE, inside a
transaction that holds the account's row, before Weibo is called; a second runner (another
thread, process or a retry after a crash) finds nothing left to claim. Once claimed, the
post is never sent again automatically: an answer lost to a timeout, or a runner that died
mid-call, leaves it ``unknown`` for the merchant to check on Weibo. Only refusals that
prove nothing went out (rate limits, a busy platform, a connection never made) put it back
on the schedule.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F

from fencun import clock
from fencun.accounts.models import Account
from fencun.channels.broadcast.channel import PostMemo, WeiboBroadcast
from fencun.channels.broadcast.client import WeiboClient
from fencun.channels.broadcast.errors import (
    ApiTimeout,
    ChannelError,
    DuplicateContent,
    LimitRefused,
    NotSent,
    RateLimited,
    SystemBusy,
    TransportError,
)
from fencun.channels.broadcast.limits import (
    limits_table,
    load_limits,
    weibo_length,
)
from fencun.channels.costs import WECOM_FEE_SOURCE, record_cost
from fencun.channels.interface import Batch, Channel, Content
from fencun.channels.models import BroadcastPost, WecomCorp
from fencun.channels.wecom.channel import CustomerContact
from fencun.channels.wecom.client import WeComClient
from fencun.content.lint import lint
from fencun.content.model import Finding, Message, Severity
from fencun.engine.clock import SHANGHAI
from fencun.engine.limits import load_wecom_limits
from fencun.insights.links import track_text

log = logging.getLogger(__name__)

CHANNEL = "weibo"
MOMENTS = "wecom_moments"
CHANNELS = (CHANNEL, MOMENTS)
#: A claim older than this without an outcome belonged to a runner that died mid-call.
STALE_CLAIM = timedelta(minutes=10)
MAX_ATTEMPTS = 5
RETRY_AFTER: dict[type[ChannelError], timedelta] = {
    RateLimited: timedelta(hours=1),
    SystemBusy: timedelta(minutes=5),
    NotSent: timedelta(minutes=5),
}
Status = BroadcastPost.Status
#: Posts that count against the caps: out, going out, or possibly out.
COUNTED = (Status.POSTING, Status.POSTED, Status.UNKNOWN)


class LintBlocked(ValueError):
    """The content lint found errors: the post cannot be saved until they are fixed."""

    def __init__(self, findings: list[Finding]) -> None:
        self.findings = findings
        super().__init__("；".join(f.message_zh for f in findings))


class WarningsNotAcknowledged(ValueError):
    """The lint found warnings; saving needs the merchant's acknowledgement."""

    def __init__(self, findings: list[Finding]) -> None:
        self.findings = findings
        super().__init__("；".join(f.message_zh for f in findings))


class CapExceeded(LimitRefused):
    """A merchant cap (posts per day or week) or the platform's hourly limit would be
    exceeded: refused before anything is changed or sent."""


@dataclass(frozen=True)
class Outcome:
    post: BroadcastPost
    error: ChannelError | None = None


def platform_day(at: datetime) -> date:
    return at.astimezone(SHANGHAI).date()


def _full_text(text: str, link_target: str) -> str:
    return f"{text} {link_target}" if link_target else text


def lint_post(text: str, link_target: str = "") -> list[Finding]:
    """The content lint's findings for a post (as a text message)."""
    return lint(Message(kind="text", body=_full_text(text, link_target)))


def create_post(
    account: Account,
    text: str,
    *,
    link_target: str = "",
    scheduled_for: datetime | None = None,
    acknowledge_warnings: bool = False,
    channel: str = CHANNEL,
) -> BroadcastPost:
    """Save a post after the content lint: errors block (:class:`LintBlocked`), warnings
    need ``acknowledge_warnings`` (:class:`WarningsNotAcknowledged`). Scheduled at once
    when ``scheduled_for`` is given (caps checked, see :func:`schedule`)."""
    if channel not in CHANNELS:
        raise ValueError(f"未知的发布渠道 {channel!r}（one of {', '.join(CHANNELS)}）")
    if channel == MOMENTS and not account.wecom_corps.exists():
        raise ValueError("发布客户朋友圈需要先配置企业微信（no WeCom corp is configured）")
    findings = lint_post(text, link_target)
    errors = [f for f in findings if f.severity is Severity.ERROR]
    if errors:
        raise LintBlocked(errors)
    warnings = [f for f in findings if f.severity is Severity.WARNING]
    if warnings and not acknowledge_warnings:
        raise WarningsNotAcknowledged(warnings)
    with transaction.atomic():
        post = BroadcastPost.objects.create(
            account=account,
            channel=channel,
            text=text,
            link_target=link_target,
            warnings_acknowledged=bool(warnings),
        )
        base = settings.WEIBO["PUBLIC_URL"]
        # Tracked links are long and Weibo's 140 characters are few: refuse now, not at
        # posting time (LimitRefused rolls the post back).
        check_length(tracked_text(post, base), channel)
        if scheduled_for is not None:
            schedule(post, scheduled_for)
    return post


def check_length(status: str, channel: str = CHANNEL) -> None:
    """Raise :class:`LimitRefused` if ``status`` is longer than the channel takes."""
    if channel == MOMENTS:
        limit = load_wecom_limits().moment_text_max_chars
        if len(status) > limit:
            raise LimitRefused("moment_text_max_chars", f"共 {len(status)} 字，客户朋友圈每条最多 {limit} 字")
        return
    limit = load_limits().status_max_chars
    length = weibo_length(status)
    if length > limit:
        raise LimitRefused(
            "status_max_chars", f"加上跟踪链接共 {length} 字，微博每条最多 {limit} 字"
        )


def _used(account: Account, at: datetime, *, planned: bool, channel: str = CHANNEL) -> dict[str, int]:
    """Posts of the account on ``channel`` counting against each cap around ``at``;
    ``planned`` also counts scheduled ones (by their time) so a schedule cannot be
    over-filled."""
    local = at.astimezone(SHANGHAI)
    week_start = (local - timedelta(days=local.weekday())).replace(
        hour=0, minute=0, second=0, microsecond=0
    )
    day_start = local.replace(hour=0, minute=0, second=0, microsecond=0)
    rows = BroadcastPost.objects.filter(account=account, channel=channel, status__in=COUNTED)
    counts = {
        "posts_per_day": rows.filter(
            claimed_at__gte=day_start, claimed_at__lt=day_start + timedelta(days=1)
        ).count(),
        "posts_per_week": rows.filter(
            claimed_at__gte=week_start, claimed_at__lt=week_start + timedelta(days=7)
        ).count(),
    }
    if channel != MOMENTS:
        counts["posts_per_user_per_hour"] = rows.filter(
            claimed_at__gt=at - timedelta(hours=1), claimed_at__lte=at
        ).count()
    if planned:
        scheduled = BroadcastPost.objects.filter(account=account, channel=channel, status=Status.SCHEDULED)
        counts["posts_per_day"] += scheduled.filter(
            scheduled_for__gte=day_start, scheduled_for__lt=day_start + timedelta(days=1)
        ).count()
        counts["posts_per_week"] += scheduled.filter(
            scheduled_for__gte=week_start, scheduled_for__lt=week_start + timedelta(days=7)
        ).count()
    if channel == MOMENTS:
        # Every customer may see every post of the corp's day: WeCom's cap is per day.
        counts["moments_per_customer_per_day"] = counts["posts_per_day"]
    return counts


_CAP_TEXT = {
    "posts_per_day": "{day} 已有 {used} 条公开发布，已达每日上限 {cap} 条",
    "posts_per_week": "本周已有 {used} 条公开发布，已达每周上限 {cap} 条",
    "posts_per_user_per_hour": "过去一小时已发布 {used} 条，已达微博每小时上限 {cap} 条",
    "moments_per_customer_per_day": "{day} 已有 {used} 条客户朋友圈，已达企业微信每日上限 {cap} 条",
}


def check_caps(account: Account, at: datetime, *, planned: bool = False, channel: str = CHANNEL) -> None:
    """Raise :class:`CapExceeded` if one more post on ``channel`` at ``at`` would break a cap."""
    limits = load_limits()
    caps = {
        "posts_per_day": limits.posts_per_day,
        "posts_per_week": limits.posts_per_week,
        "posts_per_user_per_hour": limits.posts_per_user_per_hour,
        "moments_per_customer_per_day": load_wecom_limits().moments_per_customer_per_day,
    }
    for name, used in _used(account, at, planned=planned, channel=channel).items():
        if used >= caps[name]:
            message = _CAP_TEXT[name].format(day=platform_day(at), used=used, cap=caps[name])
            raise CapExceeded(name, message)


def schedule(post: BroadcastPost, at: datetime) -> BroadcastPost:
    """Schedule a draft (or re-schedule a scheduled post) for ``at``. Refused with
    :class:`CapExceeded`, changing nothing, if that day or week is already full."""
    with transaction.atomic():
        Account.objects.select_for_update().get(pk=post.account_id)
        current = BroadcastPost.objects.select_for_update().get(pk=post.pk)
        if current.status not in (Status.DRAFT, Status.SCHEDULED):
            raise ValueError(
                f"只有草稿或已排期的发布可以排期（当前：{current.get_status_display()}）"
            )
        if current.status == Status.SCHEDULED:
            # Re-scheduling: the post's own slot does not count against itself.
            BroadcastPost.objects.filter(pk=post.pk).update(status=Status.DRAFT)
        check_caps(post.account, at, planned=True, channel=current.channel)
        BroadcastPost.objects.filter(pk=post.pk).update(status=Status.SCHEDULED, scheduled_for=at)
    post.refresh_from_db()
    return post


def tracked_text(post: BroadcastPost, public_url: str) -> str:
    """The post's text with each link, and the link target, replaced by a tracked link."""

    if not public_url:
        return _full_text(post.text, post.link_target)
    return track_text(
        _full_text(post.text, post.link_target), account=post.account, campaign_id=None, base_url=public_url
    )


def _claim(post_id: int, now: datetime, public_url: str) -> BroadcastPost | None:
    """Move one due post to ``posting`` if nobody else has; None if taken or over a cap."""
    with transaction.atomic():
        post = BroadcastPost.objects.select_related("account").get(pk=post_id)
        Account.objects.select_for_update().get(pk=post.account_id)
        if not BroadcastPost.objects.filter(pk=post_id, status=Status.SCHEDULED).exists():
            return None  # another runner has it
        check_caps(post.account, now, channel=post.channel)
        claimed = BroadcastPost.objects.filter(
            pk=post_id, status=Status.SCHEDULED, scheduled_for__lte=now
        ).update(
            status=Status.POSTING,
            claimed_at=now,
            attempts=F("attempts") + 1,
            posted_text=tracked_text(post, public_url),
        )
    if not claimed:
        return None
    post.refresh_from_db()
    return post


def _finish(post: BroadcastPost, **fields: object) -> None:
    # Only from ``posting``: a row someone already settled is never overwritten.
    BroadcastPost.objects.filter(pk=post.pk, status=Status.POSTING).update(**fields)
    post.refresh_from_db()


def reap_stale_claims(now: datetime) -> int:
    """Posts claimed by a runner that died mid-call become ``unknown`` (never reposted)."""
    return BroadcastPost.objects.filter(
        status=Status.POSTING, claimed_at__lt=now - STALE_CLAIM
    ).update(
        status=Status.UNKNOWN,
        reason="发布途中进程中断，结果未知：请在微博上核对，确认未发出后再重新排期。",
    )


def post_due(
    client: WeiboClient | WeComClient, *, now: datetime | None = None, public_url: str | None = None
) -> list[Outcome]:
    """Post every scheduled post that is due on the client's channel (Weibo, or with a
    WeCom client its corp's customer Moments), each at most once; return what happened.

    A post over a cap stays scheduled, untouched (its outcome carries :class:`CapExceeded`).
    """
    now = now or clock.now()
    base = public_url if public_url is not None else settings.WEIBO["PUBLIC_URL"]
    posts = BroadcastPost.objects.filter(status=Status.SCHEDULED, scheduled_for__lte=now)
    if isinstance(client, WeComClient):
        posts = posts.filter(channel=MOMENTS, account__wecom_corps__corp_id=client.corp_id)
    else:
        if not base:
            raise ValueError("请设置 FENCUN_PUBLIC_URL：微博要求正文里有应用安全域名下的链接")
        posts = posts.filter(channel=CHANNEL)
    reap_stale_claims(now)
    due = list(posts.order_by("scheduled_for", "pk").values_list("pk", flat=True))
    outcomes: list[Outcome] = []
    for pk in due:
        try:
            post = _claim(pk, now, base)
        except CapExceeded as exc:
            outcomes.append(Outcome(BroadcastPost.objects.get(pk=pk), exc))
            continue
        if post is not None:
            outcomes.append(_post_one(client, post, now))
    return outcomes


def _channel(client: WeiboClient | WeComClient, post: BroadcastPost) -> Channel:
    if isinstance(client, WeComClient):
        return CustomerContact(WecomCorp.objects.get(account=post.account, corp_id=client.corp_id), client)
    return WeiboBroadcast(client)


def _post_one(client: WeiboClient | WeComClient, post: BroadcastPost, now: datetime) -> Outcome:
    try:
        sent = _channel(client, post).send(
            Batch(str(post.pk), (), "", Content("", post.posted_text)), PostMemo(post.remote_id)
        )
    except NotSent as exc:
        return _retry_or_fail(post, exc, now, RETRY_AFTER[NotSent])
    except (ApiTimeout, TransportError) as exc:
        # The request may have reached Weibo: posting again could post twice.
        _finish(
            post, status=Status.UNKNOWN, reason=f"未收到微博的答复，结果未知，不会自动重发：{exc}"
        )
        return Outcome(post, exc)
    except (RateLimited, SystemBusy) as exc:
        return _retry_or_fail(post, exc, now, RETRY_AFTER[type(exc)])
    except DuplicateContent as exc:
        _finish(post, status=Status.FAILED, reason=f"微博拒绝重复内容，请修改正文：{exc}")
        return Outcome(post, exc)
    except ChannelError as exc:
        # Everything else is a refusal (or an answer we cannot read): nothing to retry.
        state = Status.UNKNOWN if exc.retryable else Status.FAILED
        _finish(post, status=state, reason=str(exc))
        return Outcome(post, exc)
    with transaction.atomic():
        _finish(post, status=Status.POSTED, remote_id=sent.reference, posted_at=now, reason="")
        if post.channel == MOMENTS:
            record_cost("wecom", "moment", sent.reference, at=now, fee_yuan=0, source=WECOM_FEE_SOURCE)
        else:
            record_cost(
                CHANNEL,
                "post",
                sent.reference,
                at=now,
                fee_yuan=load_limits().fee_per_post_yuan,
                source=str(limits_table()["limits"]["fee_per_post_yuan"]["source"]),
            )
    return Outcome(post)


def _retry_or_fail(
    post: BroadcastPost, exc: ChannelError, now: datetime, after: timedelta
) -> Outcome:
    if post.attempts >= MAX_ATTEMPTS:
        _finish(post, status=Status.FAILED, reason=f"{post.attempts} 次尝试均被拒绝：{exc}")
    else:
        # Weibo refused the request, so nothing went out: back on the schedule.
        _finish(post, status=Status.SCHEDULED, scheduled_for=now + after, reason=f"稍后重试：{exc}")
    return Outcome(post, exc)


def recent_moment_jobs(corp: WecomCorp, days: float = 1.0) -> list[str]:
    """Job ids of the corp's Moments posts posted in the last ``days`` days."""
    return list(
        BroadcastPost.objects.filter(
            account=corp.account, channel=MOMENTS, status=Status.POSTED,
            posted_at__gte=clock.now() - timedelta(days=days),
        ).exclude(remote_id="").values_list("remote_id", flat=True)
    )


def weibo_client() -> WeiboClient:
    """The client for the configured Weibo account; ValueError (in Chinese) if none."""
    conf = settings.WEIBO
    if not conf["ACCESS_TOKEN"]:
        raise ValueError("请设置 WEIBO_ACCESS_TOKEN（微博授权后获得的 access_token）")
    return WeiboClient(
        conf["ACCESS_TOKEN"], api_base=conf["API_BASE"], safe_domain=conf["SAFE_DOMAIN"]
    )
