"""The articles' figures as WeChat counts them, read back from its analytics, beside
fencun's own.

A follower who opens a pushed article in WeChat reaches no server of ours: only the
platform's analytics (图文分析, ``datacube/*``) count those reads, shares and favourites,
up to yesterday and some days late. :func:`sync_article_stats` reads the last days of
them into :class:`~fencun.insights.models.ArticleDay` (each article's figures per day)
and :class:`~fencun.insights.models.ArticleTotal` (each article's running totals for the
days after its send, readers counted once): a day read again replaces what was stored for
it, and an unchanged answer writes nothing. It runs daily in the queue
(``insights/tasks.py``, after 08:00 Beijing time, when the platform has finished the day
before), or by calling it.

:func:`campaign_article_stats` lays them beside the campaign's tracked reads, clicks and
orders. A campaign's articles are found through its outbox rows' ``clientmsgid``, the
mass sends WeChat accepted for them (``MassSend.msg_data_id``) and the analytics' msgid,
``{msg_data_id}_{index}``; only mass sends of articles (``mpnews``) have one.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, TypeVar

from django.db import models, transaction

from fencun import clock
from fencun.accounts.models import Account
from fencun.audience import kinds
from fencun.campaigns.models import OutboxItem
from fencun.channels.models import MassSend
from fencun.channels.services import wechat_client
from fencun.channels.wechat import datacube
from fencun.channels.wechat.client import WeChatClient
from fencun.channels.wechat.datacube import ArticleFigures, platform_yesterday, split_msgid
from fencun.channels.wechat.errors import ChannelError
from fencun.insights.models import ArticleDay, ArticleSync, ArticleTotal, DailyCount

log = logging.getLogger(__name__)

Stored = TypeVar("Stored", ArticleDay, ArticleTotal)

#: Days read back by default: the platform keeps adding to an article's figures for the
#: week after its send (getarticletotal's horizon), so a daily run re-reads that week.
DEFAULT_DAYS = 7

_FIGURES = (
    "read_users",
    "reads",
    "original_read_users",
    "original_reads",
    "share_users",
    "shares",
    "favourite_users",
    "favourites",
)


@dataclass
class ArticleSyncResult:
    """What one run read (``first``…``last``, Beijing days) and what it changed."""

    first: date
    last: date
    days_read: int = 0  # getarticlesummary rows
    totals_read: int = 0  # getarticletotal details
    created: int = 0
    updated: int = 0
    deleted: int = 0


def _figures(f: ArticleFigures) -> dict[str, int]:
    return {name: int(getattr(f, name)) for name in _FIGURES}


def _article(msgid: str, title: str) -> dict[str, Any]:
    msg_data_id, index = split_msgid(msgid)
    title_field = ArticleDay._meta.get_field("title")
    assert isinstance(title_field, models.CharField)
    return {"msg_data_id": msg_data_id, "article": index, "title": title[: title_field.max_length]}


def _replace(
    model: type[Stored],
    stored: Iterable[Stored],
    fresh: Mapping[tuple[str, date], dict[str, Any]],
    account: Account,
    result: ArticleSyncResult,
) -> None:
    """Make ``stored`` (the rows of the days read) what ``fresh`` says: insert the new
    rows, update the changed ones, delete those the platform no longer lists; a row that
    did not change is not written."""
    existing = {(row.msgid, row.day): row for row in stored}
    create: list[Stored] = []
    update: list[Stored] = []
    changed_fields: set[str] = set()
    for (msgid, day), values in fresh.items():
        row = existing.pop((msgid, day), None)
        if row is None:
            create.append(model(account=account, msgid=msgid, day=day, **values))
            continue
        diff = {k for k, v in values.items() if getattr(row, k) != v}
        if diff:
            for k in diff:
                setattr(row, k, values[k])
            changed_fields |= diff
            update.append(row)
    if existing:
        model.objects.filter(pk__in=[row.pk for row in existing.values()]).delete()
    model.objects.bulk_create(create, batch_size=500)
    if update:
        model.objects.bulk_update(update, sorted(changed_fields), batch_size=500)
    result.created += len(create)
    result.updated += len(update)
    result.deleted += len(existing)


def sync_article_stats(
    account: Account, client: WeChatClient, *, days: int = DEFAULT_DAYS
) -> ArticleSyncResult:
    """Read the platform's article figures of the last ``days`` days (up to yesterday,
    Beijing time) into the insights tables. Idempotent: a day read again replaces its rows,
    and the same answer twice changes nothing. The platform is asked first and the tables
    written after, in one transaction, so a failed read (a :class:`ChannelError` from the
    client) leaves them as they were."""
    if days < 1:
        raise ValueError("days must be at least 1")
    last = platform_yesterday()
    first = last - timedelta(days=days - 1)
    summary: list[datacube.ArticleDay] = client.article_summary(first, last)
    totals: list[datacube.ArticleTotal] = client.article_total(first, last)
    result = ArticleSyncResult(first, last)
    day_rows: dict[tuple[str, date], dict[str, Any]] = {}
    for row in summary:
        if first <= row.day <= last:
            day_rows[(row.msgid, row.day)] = {
                **_article(row.msgid, row.title),
                **_figures(row.figures),
            }
    total_rows: dict[tuple[str, date], dict[str, Any]] = {}
    for total in totals:
        if not first <= total.sent_on <= last:
            continue
        for detail in total.details:
            total_rows[(total.msgid, detail.day)] = {
                **_article(total.msgid, total.title),
                "sent_on": total.sent_on,
                "recipients": detail.recipients,
                **_figures(detail.figures),
                "read_users_from": dict(detail.read_users_from),
                "moments_shares_from": dict(detail.moments_shares_from),
            }
    result.days_read, result.totals_read = len(day_rows), len(total_rows)
    with transaction.atomic():
        # Two runs for one account at once (the daily task and a call by hand) take turns
        # here, so the second compares with what the first wrote (a lock, no write).
        list(Account.objects.select_for_update().filter(pk=account.pk).values_list("pk"))
        _replace(
            ArticleDay,
            ArticleDay.objects.filter(account=account, day__range=(first, last)),
            day_rows,
            account,
            result,
        )
        _replace(
            ArticleTotal,
            ArticleTotal.objects.filter(account=account, sent_on__range=(first, last)),
            total_rows,
            account,
            result,
        )
        ArticleSync.objects.update_or_create(
            account=account,
            defaults={"first_day": first, "last_day": last, "synced_at": clock.now()},
        )
    return result


def sync_all_article_stats(
    client_factory: Callable[[Account], WeChatClient] = wechat_client,
    *,
    days: int = DEFAULT_DAYS,
) -> dict[str, ArticleSyncResult | ChannelError | ValueError]:
    """:func:`sync_article_stats` for every account that has mass sent an article, by
    AppID; an account the platform refuses (or whose secret is missing or unreadable) is
    reported with its error and the others go on."""
    sent = MassSend.objects.filter(msg_data_id__isnull=False).values("account_id")
    outcomes: dict[str, ArticleSyncResult | ChannelError | ValueError] = {}
    for account in Account.objects.filter(pk__in=sent).order_by("pk"):
        try:
            with client_factory(account) as client:
                outcomes[account.app_id] = sync_article_stats(account, client, days=days)
        except (ChannelError, ValueError) as exc:
            log.warning("article figures of %s not read: %s", account.app_id, exc)
            outcomes[account.app_id] = exc
    return outcomes


# -- beside the campaign ----------------------------------------------------------------


@dataclass
class ArticleStatsDay:
    """One day of a campaign's articles: the platform's figures (all its articles) and
    fencun's own tracked reads, clicks and orders of the campaign that day."""

    day: date
    read_users: int = 0
    reads: int = 0
    shares: int = 0
    favourites: int = 0
    tracked_reads: int = 0
    tracked_clicks: int = 0
    orders: int = 0
    revenue: float = 0.0  # yuan


@dataclass
class ArticleStats:
    """A campaign's articles as the platform counted them, beside fencun's own counts.

    ``read_users`` counts each reader once over the days the platform totals (the week
    after each send); ``reads``, ``shares`` and ``favourites`` add up the days read back.
    ``recipients`` is whom the platform says it reached. None where the platform has not
    reported yet. The tracked figures are the campaign's own, from its tracked links and
    attributed orders, all days."""

    sends: list[int]  # the msg_data_ids of the campaign's mass sends of articles
    articles: list[str] = field(default_factory=list)  # the platform's msgids it reported
    recipients: int | None = None
    read_users: int | None = None
    reads: int = 0
    share_users: int | None = None
    shares: int = 0
    favourites: int = 0
    read_rate: float | None = None  # read_users / recipients
    tracked_reads: int = 0
    tracked_clicks: int = 0
    orders: int = 0
    revenue: float = 0.0  # yuan
    days: list[ArticleStatsDay] = field(default_factory=list)
    synced_through: date | None = None  # the last day the account's figures were read for
    synced_at: datetime | None = None

    @property
    def reported(self) -> bool:
        """Whether the platform has reported anything of these articles yet."""
        return bool(self.articles)

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "reported": self.reported}


def campaign_msg_data_ids(campaign: Any) -> list[int]:
    """The msg_data_ids of the campaign's accepted mass sends of articles (read from the
    campaign and channel sides)."""
    keys = OutboxItem.objects.filter(campaign_id=campaign.pk).values("clientmsgid")
    ids = MassSend.objects.filter(
        account_id=campaign.account_id, clientmsgid__in=keys, msg_data_id__isnull=False
    ).values_list("msg_data_id", flat=True)
    return sorted({int(i) for i in ids if i is not None})


_TRACKED = (kinds.READ, kinds.LINK_CLICK, kinds.ORDER)


def campaign_article_stats(campaign: Any) -> ArticleStats | None:
    """The platform's figures of ``campaign``'s articles beside its tracked reads, clicks
    and orders, day by day over the days the platform reported; None when the campaign
    sent no article by mass send."""
    sends = campaign_msg_data_ids(campaign)
    if not sends:
        return None
    account_id = campaign.account_id
    stats = ArticleStats(sends=sends)
    sync = ArticleSync.objects.filter(account_id=account_id).first()
    if sync is not None:
        stats.synced_through, stats.synced_at = sync.last_day, sync.synced_at
    daily = list(
        ArticleDay.objects.filter(account_id=account_id, msg_data_id__in=sends).order_by("day")
    )
    latest: dict[str, ArticleTotal] = {}
    totals = ArticleTotal.objects.filter(account_id=account_id, msg_data_id__in=sends)
    for t in totals.order_by("day"):
        latest[t.msgid] = t  # each article's totals of the last day reported
    stats.articles = sorted({r.msgid for r in daily} | set(latest))
    if latest:
        # Every article of a send reaches the same people: count each send once.
        by_send = {t.msg_data_id: t.recipients for t in latest.values()}
        stats.recipients = sum(by_send.values())
        stats.read_users = sum(t.read_users for t in latest.values())
        stats.share_users = sum(t.share_users for t in latest.values())
        if stats.recipients:
            stats.read_rate = stats.read_users / stats.recipients
    by_day: dict[date, ArticleStatsDay] = {}
    for r in daily:
        d = by_day.setdefault(r.day, ArticleStatsDay(r.day))
        d.read_users += r.read_users
        d.reads += r.reads
        d.shares += r.shares
        d.favourites += r.favourites
    first = min([*by_day, *(t.sent_on for t in latest.values())], default=None)
    last = stats.synced_through or max(by_day, default=None)
    own: dict[str, float] = defaultdict(float)
    tracked = DailyCount.objects.filter(campaign_id=campaign.pk, kind__in=_TRACKED)
    for day, kind, count, amount in tracked.values_list("day", "kind", "count", "amount"):
        own[kind] += count
        if kind == kinds.ORDER:
            own["revenue"] += amount
        if first is None or last is None or not first <= day <= last:
            continue  # a day the platform has not reported (yet)
        d = by_day.setdefault(day, ArticleStatsDay(day))
        if kind == kinds.READ:
            d.tracked_reads += count
        elif kind == kinds.LINK_CLICK:
            d.tracked_clicks += count
        else:
            d.orders += count
            d.revenue = round(d.revenue + amount, 2)
    stats.days = [by_day[d] for d in sorted(by_day)]
    stats.reads = sum(d.reads for d in stats.days)
    stats.shares = sum(d.shares for d in stats.days)
    stats.favourites = sum(d.favourites for d in stats.days)
    stats.tracked_reads = int(own[kinds.READ])
    stats.tracked_clicks = int(own[kinds.LINK_CLICK])
    stats.orders = int(own[kinds.ORDER])
    stats.revenue = round(own["revenue"], 2)
    return stats
