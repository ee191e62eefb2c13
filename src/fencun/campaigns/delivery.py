"""Delivery workers and the scheduler over the outbox.

Rows move pending -> claimed (lease owner and expiry) -> sent | failed | unknown. A claim is one
atomic UPDATE of a pending row (``SELECT ... FOR UPDATE SKIP LOCKED`` on PostgreSQL),
so two workers never hold one row. Every attempt reuses the row's stored
``clientmsgid``: if a worker dies after WeChat accepted a send but before the row was
marked sent, the row's lease expires, another worker takes it, and WeChat answers 45065
(already sent), which is recorded as sent. Nothing is sent twice and nothing is lost.
A customer-service message has no such key and cannot be looked up: a row whose request
left without an answer ends ``unknown`` (reported, never sent again); one the platform
answered with an error (-1 busy included) sent nothing and is tried again.

Rows go out through their campaign's channel (``channels/interface.py``): the Official
Account for mass and customer-service campaigns, WeCom customer contact for WeCom
campaigns (whose lost answers the row's memo recovers, see ``channels/wecom/channel.py``).
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from django.db import connection, transaction
from django.db.models import Count, Max, Q

from fencun import clock
from fencun.accounts import audit
from fencun.accounts.models import Account
from fencun.audience.models import Event, Follower
from fencun.audience.services import NewEvent, record_events
from fencun.campaigns import outcomes, ratelimit, variants
from fencun.campaigns.models import Campaign, OutboxItem, SchedulerLease
from fencun.channels.interface import Batch, Channel, Content, Sent, is_retryable
from fencun.channels.models import MassSend, WecomCorp
from fencun.channels.services import wechat_client
from fencun.channels.wechat import errors as E
from fencun.channels.wechat.channel import OfficialAccount
from fencun.channels.wecom import people
from fencun.channels.wecom.channel import CustomerContact
from fencun.channels.wecom.ledger import wecom_client
from fencun.channels.wecom.tasks import MASS_FINISHED, record_mass_results
from fencun.engine.limits import load_platform_limits
from fencun.insights.links import track_text, tracked_url

log = logging.getLogger(__name__)
S = Campaign.Status
OS = OutboxItem.Status

LEASE_SECONDS = float(os.environ.get("FENCUN_OUTBOX_LEASE_S", "120"))
MAX_ATTEMPTS = 5
BACKOFF_SECONDS = 5.0


def worker_id() -> str:
    """A name unique to this process (host, pid and a random part)."""
    return f"{socket.gethostname()[:30]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def _is_postgres() -> bool:
    return connection.vendor == "postgresql"


# ----- claiming -------------------------------------------------------------------------
def claim(owner: str, *, lease_seconds: float = LEASE_SECONDS, campaign_id: int | None = None) -> OutboxItem | None:
    """Take one pending row of a sending campaign (urgent first) under a lease, or None."""
    now = clock.now()
    until = now + timedelta(seconds=lease_seconds)
    ready = (
        OutboxItem.objects.filter(status=OS.PENDING, campaign__status=S.SENDING)
        .filter(Q(not_before__isnull=True) | Q(not_before__lte=now))
        .order_by("-campaign__urgent", "campaign__scheduled_for", "pk")
    )
    if campaign_id is not None:
        ready = ready.filter(campaign_id=campaign_id)
    if _is_postgres():
        with transaction.atomic():
            item = ready.select_for_update(skip_locked=True, of=("self",)).first()
            if item is None:
                return None
            item.status, item.lease_owner, item.lease_until = OS.CLAIMED, owner, until
            item.attempts += 1
            item.save(update_fields=["status", "lease_owner", "lease_until", "attempts"])
            return item
    for _ in range(5):
        candidate = ready.values_list("pk", flat=True).first()
        if candidate is None:
            return None
        # The UPDATE's WHERE is the lock: of two racing workers only one changes the row.
        from django.db.models import F

        taken = OutboxItem.objects.filter(pk=candidate, status=OS.PENDING).update(
            status=OS.CLAIMED, lease_owner=owner, lease_until=until, attempts=F("attempts") + 1
        )
        if taken:
            return OutboxItem.objects.get(pk=candidate)
    return None


def has_work() -> bool:
    """Whether any row of a sending campaign is pending or claimed."""
    return OutboxItem.objects.filter(
        status__in=(OS.PENDING, OS.CLAIMED), campaign__status=S.SENDING
    ).exists()


def has_due_work(now: datetime | None = None) -> bool:
    """Whether anything is due: a row to send (:func:`has_work`) or a scheduled campaign
    whose time has come, which the scheduler has yet to start (or pause as stale)."""
    now = now or clock.now()
    return has_work() or Campaign.objects.filter(status=S.SCHEDULED, scheduled_for__lte=now).exists()


@dataclass(frozen=True)
class LeaseWait:
    """Due work held under another process's unexpired lease; that process may be dead,
    so the work is free when the lease ends (at most a lease's length away)."""

    rows: int = 0  # outbox rows claimed by another worker
    rows_free_at: datetime | None = None  # when the last of their leases ends
    campaigns: int = 0  # due campaigns waiting for the scheduler
    scheduler_free_at: datetime | None = None  # when another process's scheduler lease ends

    def __bool__(self) -> bool:
        return bool(self.rows or self.scheduler_free_at)


def lease_wait(owner: str, now: datetime | None = None) -> LeaseWait:
    """What due work ``owner`` cannot take yet because another process holds its lease."""
    now = now or clock.now()
    rows = (
        OutboxItem.objects.filter(status=OS.CLAIMED, campaign__status=S.SENDING, lease_until__gte=now)
        .exclude(lease_owner=owner)
        .aggregate(n=Count("pk"), until=Max("lease_until"))
    )
    due = Campaign.objects.filter(status=S.SCHEDULED, scheduled_for__lte=now).count()
    scheduler = (
        SchedulerLease.objects.filter(name="scheduler", until__gte=now).exclude(owner=owner).first()
        if due
        else None
    )
    return LeaseWait(
        rows=rows["n"],
        rows_free_at=rows["until"],
        campaigns=due if scheduler else 0,
        scheduler_free_at=scheduler.until if scheduler else None,
    )


def reclaim_expired(now: datetime | None = None) -> int:
    """Return rows whose lease expired (their worker died) to pending; returns how many."""
    now = now or clock.now()
    return OutboxItem.objects.filter(status=OS.CLAIMED, lease_until__lt=now).update(
        status=OS.PENDING, lease_owner="", lease_until=None
    )


def _finish(item: OutboxItem, owner: str, **fields) -> bool:
    """Write the outcome only while still holding the lease; False if it was lost."""
    return bool(
        OutboxItem.objects.filter(pk=item.pk, status=OS.CLAIMED, lease_owner=owner).update(**fields)
    )


def _release(item: OutboxItem, owner: str, *, delay: float = 0.0, code: str = "", reason: str = "") -> None:
    OutboxItem.objects.filter(pk=item.pk, status=OS.CLAIMED, lease_owner=owner).update(
        status=OS.PENDING,
        lease_owner="",
        lease_until=None,
        reason_code=code,
        reason=reason[:500],
        not_before=clock.now() + timedelta(seconds=delay) if delay else None,
    )


# ----- sending --------------------------------------------------------------------------
def content_of(campaign: Campaign, item: OutboxItem) -> Content:
    """What ``item`` says: an A/B campaign's title is the row's variant's; with
    ``FENCUN_PUBLIC_URL`` set, its links are tracked links. A customer-service message
    goes to one follower, so its links name them; a mass send (and a news article, which
    every row of a variant shares) carries one link for everyone."""
    variant = item.variant
    ab = variants.is_ab(campaign)
    title = variants.title_of(campaign, variant) if ab else campaign.title
    if campaign.message_type == Campaign.MessageType.TEXT:
        # A text message has no title field: the tested title is its first line.
        body = (f"{title}\n\n{campaign.body}" if campaign.body else title) if ab else (campaign.body or campaign.title)
    else:
        body = campaign.body
    # A stored article carries one title; an A/B test uploads one per variant.
    media_id = "" if ab and campaign.message_type == Campaign.MessageType.NEWS else campaign.media_id
    per_person = campaign.channel == Campaign.Channel.CUSTOMER_SERVICE and campaign.message_type == "text"
    openid = item.openids[0] if per_person else ""
    body, link = _tracked(campaign, body, openid)
    return Content(
        title, body, campaign.message_type, media_id, variants.letter_of(variant), bytes(campaign.cover or b""), link
    )


def _tracked(campaign: Campaign, body: str, openid: str) -> tuple[str, str]:
    """``body`` with its links tracked, and the tracked link of the campaign's first
    product with a page (a news article's 阅读原文), when ``FENCUN_PUBLIC_URL`` is set."""
    from django.conf import settings


    product = campaign.products.exclude(link_url="").order_by("pk").first()
    base = settings.PUBLIC_URL
    if not base:
        return body, product.link_url if product else ""
    account = campaign.account
    body = track_text(body, account=account, campaign_id=campaign.pk, openid=openid, base_url=base)
    link = (
        tracked_url(campaign.pk, openid, product.sku, product.link_url, account=account, base_url=base)
        if product
        else ""
    )
    return body, link


class RowMemo:
    """A channel's memo for one outbox row (``channels/interface.py``): the delivery tag,
    the WeCom task and the article's draft on the row, the cover's material on the
    campaign. Each is stored before it is used, first writer wins."""

    def __init__(self, item: OutboxItem, campaign: Campaign, letter: str) -> None:
        self.item, self.campaign, self.letter = item, campaign, letter

    def get(self, name: str) -> str:
        if name == "attempt":
            at = self.item.attempt_started_at
            return repr(at.timestamp()) if at else ""
        if name == "tag":
            return str(self.item.tag_id or "")
        if name == "task":
            return self.item.task_id
        if name == "article":
            return OutboxItem.objects.filter(pk=self.item.pk).values_list("media_id", flat=True).first() or ""
        if name == "thumb":
            return Campaign.objects.filter(pk=self.campaign.pk).values_list("cover_media_id", flat=True).first() or ""
        raise KeyError(name)

    def put(self, name: str, value: str) -> str:
        if name == "attempt":
            # Committed before the request leaves: a worker killed mid-request leaves it.
            at = datetime.fromtimestamp(float(value), UTC) if value else None
            self.item.attempt_started_at = at
            OutboxItem.objects.filter(pk=self.item.pk).update(attempt_started_at=at)
        elif name in ("tag", "task"):
            field = "tag_id" if name == "tag" else "task_id"
            setattr(self.item, field, int(value) if name == "tag" else value)
            OutboxItem.objects.filter(pk=self.item.pk).update(**{field: getattr(self.item, field)})
        elif name == "article":
            # Another attempt at this row may have stored its draft first: that one stands.
            OutboxItem.objects.filter(pk=self.item.pk, media_id="").update(media_id=value)
            return self.get("article")
        elif name == "thumb":
            Campaign.objects.filter(pk=self.campaign.pk, cover_media_id="").update(cover_media_id=value)
            return self.get("thumb")
        else:
            raise KeyError(name)
        return value


def channel_for(campaign: Campaign, clients: Callable[[Account | WecomCorp], Any]) -> Channel:
    """The channel a campaign is sent on, its client from ``clients(account or corp)``
    (a WeChat client for an account, a WeCom client for a corp)."""
    if campaign.channel == Campaign.Channel.WECOM:
        corp = people.campaign_corp(campaign.account)
        if corp is None:
            raise E.LimitRefused("wecom_corp", "no WeCom corp is configured for this account")
        return CustomerContact(corp, clients(corp))
    return OfficialAccount(
        clients(campaign.account),
        campaign.account.account_type,
        customer_service=campaign.channel == Campaign.Channel.CUSTOMER_SERVICE,
        publish=campaign.channel == Campaign.Channel.PUBLISH,
    )


def _batch(item: OutboxItem, campaign: Campaign) -> Batch:
    context = {}
    if campaign.channel == Campaign.Channel.CUSTOMER_SERVICE:

        follower = Follower.objects.filter(account=campaign.account, openid=item.openids[0]).first()
        context["last_interaction_at"] = follower.last_interaction_at if follower else None
    return Batch(
        item.key,
        tuple(item.openids),
        item.clientmsgid,
        content_of(campaign, item),
        attempt=item.attempts,
        context=context,
    )


def default_clients(target: Account | WecomCorp) -> Any:
    """The API client of an Official Account or a WeCom corp."""
    if isinstance(target, WecomCorp):

        return wecom_client(target)

    return wechat_client(target)


def _mass_rate(account: Account) -> int:
    return int(load_platform_limits(account.account_type).mass_api_requests_per_minute)


def _already_accepted(account: Account, clientmsgid: str) -> int | None:
    """The msg_id of an accepted mass send with ``clientmsgid`` in the ledger, if any
    (0 when accepted without a msg_id)."""

    row = MassSend.objects.filter(account=account, clientmsgid=clientmsgid).first()
    if row is None:
        return None
    return row.msg_id or 0


def cleanup_tags(older_than_s: float = 600.0, client_factory=None) -> int:
    """Delete delivery tags of sends accepted more than ``older_than_s`` seconds ago.

    A leftover tag is untidy, not a lost send: failures are logged and tried again on the
    next pass. Returns tags deleted.
    """

    cutoff = clock.now() - timedelta(seconds=older_than_s)
    deleted = 0
    items = OutboxItem.objects.filter(
        status=OS.SENT, tag_id__isnull=False, tag_removed=False, sent_at__lte=cutoff
    ).select_related("campaign__account")
    for item in items:
        client = (client_factory or wechat_client)(item.campaign.account)
        assert item.tag_id is not None  # by the filter above
        try:
            client.delete_tag(item.tag_id)
        except E.InvalidRequest:
            pass  # already gone
        except E.ChannelError as exc:
            log.warning("could not delete delivery tag %s: %s", item.tag_id, type(exc).__name__)
            continue
        OutboxItem.objects.filter(pk=item.pk).update(tag_removed=True)
        deleted += 1
    return deleted


# Members confirm a WeCom mass task in the app, often hours later; results are read back
# for this long after the task was created.
WECOM_RESULTS_DAYS = 3


def collect_wecom_results(client_factory=None, days: float = WECOM_RESULTS_DAYS) -> int:
    """Read back the results of WeCom campaign tasks sent in the last ``days`` days into
    the event log (who got it, who was past WeCom's daily cap, who is no longer a
    contact), where the reports count them as receipts. Returns results newly recorded.
    A task that cannot be read now is tried again on the next pass."""

    rows = (
        OutboxItem.objects.filter(
            campaign__channel=Campaign.Channel.WECOM,
            status=OS.SENT,
            sent_at__gte=clock.now() - timedelta(days=days),
        )
        .exclude(task_id="")
        .select_related("campaign__account")
    )
    recorded = 0
    for item in rows:
        account = item.campaign.account
        corp = people.campaign_corp(account)
        if corp is None:
            continue
        finished_key = f"wecom:mass-finished:{corp.corp_id}:{item.task_id}"[:200]
        if Event.objects.filter(account=account, dedup_key=finished_key).exists():
            continue  # every member has sent it: nothing more will change
        try:
            results = record_mass_results(corp, (client_factory or default_clients)(corp), item.task_id)
        except E.ChannelError as exc:
            log.warning("WeCom results of task %s: %s", item.task_id, type(exc).__name__)
            continue
        recorded += results.recorded
        if results.finished:
            record_events(account, [NewEvent(MASS_FINISHED, "", clock.now(), {"msgid": item.task_id},
                                             "wecom", finished_key)])
    return recorded


def reason_of(exc: Exception) -> str:
    code = getattr(exc, "errcode", None)
    name = type(exc).__name__
    return f"{name} {code}: {exc}" if code is not None else f"{name}: {exc}"


@dataclass
class WorkResult:
    sent: int = 0
    failed: int = 0
    unknown: int = 0  # rows whose delivery the platform neither confirmed nor denied
    retried: int = 0
    paused: int = 0
    rate_waits: int = 0


def process(item: OutboxItem, owner: str, client_factory=None) -> str:
    """Send one claimed row through its campaign's channel and record the outcome:
    ``sent``, ``failed``, ``unknown``, ``retry``, ``rate`` or ``paused``.

    A row whose attempt may have reached the platform without an answer is retried where
    its idempotency key makes that safe (a mass send's ``clientmsgid``: the platform
    answers 45065 for one it took) and otherwise ends ``unknown`` with the reason
    (customer-service messages: no key, nothing to ask); a busy platform's answer (-1)
    says nothing was sent, so that row is simply tried again.

    ``client_factory(account or corp)`` gives the API client (default: :func:`default_clients`).
    """
    campaign = Campaign.objects.select_related("account").get(pk=item.campaign_id)
    if campaign.status != S.SENDING:
        _release(item, owner)
        return "retry"
    if campaign.channel == Campaign.Channel.MASS:
        wait = ratelimit.take(campaign.account.app_id, "mass", _mass_rate(campaign.account))
        if wait > 0:
            # The minute's calls are used by this or another worker: come back next minute.
            _release(item, owner, delay=wait, code=outcomes.RATE, reason="rate")
            return "rate"
        known = _already_accepted(campaign.account, item.clientmsgid)
        if known is not None:
            # WeChat accepted this row's send before its worker could record it.
            _finish(item, owner, status=OS.SENT, msg_id=known, sent_at=clock.now(), lease_owner="")
            _maybe_done(campaign)
            return "sent"
    try:
        channel = channel_for(campaign, client_factory or default_clients)
    except E.ChannelError as exc:
        _release(item, owner, code=outcomes.PAUSED, reason=reason_of(exc))
        _pause_for(campaign, reason_of(exc))
        return "paused"
    try:
        sent = channel.send(_batch(item, campaign), RowMemo(item, campaign, variants.letter_of(item.variant)))
    except E.ChannelError as exc:
        reason = reason_of(exc)
        if isinstance(exc, E.OutcomeUnknown):
            _finish(item, owner, status=OS.UNKNOWN, reason_code=outcomes.OUTCOME_UNKNOWN,
                    reason=reason[:500], lease_owner="")
            _maybe_done(campaign)
            return "unknown"
        if isinstance(exc, channel.row_failures):
            _finish(item, owner, status=OS.FAILED, reason_code=outcomes.code_for(exc),
                    reason=reason[:500], lease_owner="")
            _maybe_done(campaign)
            return "failed"
        if is_retryable(exc) and item.attempts < MAX_ATTEMPTS:
            _release(item, owner, delay=BACKOFF_SECONDS * 2 ** (item.attempts - 1), code=outcomes.RETRY,
                     reason=reason)
            return "retry"
        code = outcomes.PAUSED
        if is_retryable(exc):
            code, reason = outcomes.ATTEMPTS_EXHAUSTED, f"{MAX_ATTEMPTS} attempts failed: {reason}"
        # Quota, credentials, content, limits: sending more of this campaign would only
        # fail again until someone looks.
        _release(item, owner, code=code, reason=reason)
        _pause_for(campaign, reason)
        return "paused"
    outcome = _record_sent(item, owner, sent)
    _maybe_done(campaign)
    return outcome


def _record_sent(item: OutboxItem, owner: str, sent: Sent) -> str:
    """Record what the platform accepted: the row is sent to those it took; each recipient
    of the row it refused gets a failed row of its own, with the reason, in the same
    transaction (so the row's ``openids`` are exactly who it was sent to)."""
    mine = set(item.openids)
    refused = [o for o in dict.fromkeys(sent.refused) if o in mine]
    elsewhere = len(sent.refused) - len(refused)  # e.g. WeCom's fail_list, by external id
    note = f"{elsewhere} recipients refused by the platform" if elsewhere else ""
    if not refused:
        _finish(item, owner, status=OS.SENT, msg_id=sent.msg_id, sent_at=clock.now(), lease_owner="",
                reason_code=outcomes.REFUSED if note else "", reason=note)
        return "sent"
    taken = set(refused)
    rest = [o for o in item.openids if o not in taken]
    with transaction.atomic():
        if not rest:
            reason = sent.refused_reasons.get(refused[0], "refused by the platform")
            _finish(item, owner, status=OS.FAILED, lease_owner="", reason_code=outcomes.code_for_refusal(reason),
                    reason=f"{len(refused)} refused: {reason}"[:500])
            return "failed"
        summary = "; ".join(filter(None, [f"{len(refused)} refused, sent to the rest", note]))
        if not _finish(
            item, owner, status=OS.SENT, msg_id=sent.msg_id, sent_at=clock.now(), lease_owner="",
            openids=rest, reason_code=outcomes.REFUSED, reason=summary,
        ):
            return "sent"  # the lease was lost: whoever holds it records the outcome
        OutboxItem.objects.bulk_create(
            [
                OutboxItem(
                    campaign_id=item.campaign_id,
                    key=f"refused:{openid}"[:80],
                    variant=item.variant,
                    openids=[openid],
                    clientmsgid=f"rf{item.pk}-{uuid.uuid5(uuid.NAMESPACE_OID, openid).hex}"[:64],
                    status=OS.FAILED,
                    attempts=item.attempts,
                    reason_code=outcomes.code_for_refusal(sent.refused_reasons.get(openid, "")),
                    reason=sent.refused_reasons.get(openid, "refused by the platform")[:500],
                )
                for openid in refused
            ],
            ignore_conflicts=True,
        )
    return "sent"


def _pause_for(campaign: Campaign, reason: str) -> None:
    from fencun.campaigns.services import CampaignError, pause

    with contextlib.suppress(CampaignError):  # already paused or finished
        pause(campaign, reason)


def _maybe_done(campaign: Campaign) -> bool:
    """Mark the campaign done when no row is pending, claimed or held for an A/B winner."""
    if OutboxItem.objects.filter(
        campaign=campaign, status__in=(OS.PENDING, OS.CLAIMED, OS.HELD)
    ).exists():
        return False
    done = bool(
        Campaign.objects.filter(pk=campaign.pk, status=S.SENDING).update(
            status=S.DONE, finished_at=clock.now()
        )
    )
    if done:
        counts = dict(OutboxItem.objects.filter(campaign=campaign).values_list("status").annotate(n=Count("id")))
        with audit.acting_as("system"):
            audit.record(campaign.account, "campaign.sent", campaign, rows=counts)
    return done


def work(owner: str | None = None, *, max_items: int | None = None, client_factory=None) -> WorkResult:
    """Claim and send rows until none is ready (or ``max_items``); returns counts."""
    owner = owner or worker_id()
    result = WorkResult()
    clients: dict[tuple[type, int], object] = {}

    def factory(target):
        key = (type(target), target.pk)
        if key not in clients:
            clients[key] = (client_factory or default_clients)(target)
        return clients[key]

    try:
        done = 0
        while max_items is None or done < max_items:
            item = claim(owner)
            if item is None:
                break
            outcome = process(item, owner, client_factory=factory)
            done += 1
            if outcome == "sent":
                result.sent += 1
            elif outcome == "failed":
                result.failed += 1
            elif outcome == "unknown":
                result.unknown += 1
            elif outcome == "paused":
                result.paused += 1
            elif outcome == "rate":
                result.rate_waits += 1
            else:
                result.retried += 1
    finally:
        for client in clients.values():
            close = getattr(client, "close", None)
            if close:
                close()
    return result


# ----- the scheduler --------------------------------------------------------------------
def acquire_scheduler(owner: str, seconds: float = 60.0, name: str = "scheduler") -> bool:
    """Take or renew the named lease; True if ``owner`` holds it now."""
    now = clock.now()
    until = now + timedelta(seconds=seconds)
    SchedulerLease.objects.get_or_create(name=name)
    taken = SchedulerLease.objects.filter(name=name).filter(
        Q(owner=owner) | Q(owner="") | Q(until__isnull=True) | Q(until__lt=now)
    ).update(owner=owner, until=until)
    return bool(taken)


def release_scheduler(owner: str, name: str = "scheduler") -> None:
    SchedulerLease.objects.filter(name=name, owner=owner).update(owner="", until=None)


def run_scheduler(owner: str | None = None, now: datetime | None = None) -> list[int]:
    """One scheduler pass (only the lease holder acts): reclaim expired leases, forget
    spent API rate windows, start due campaigns (urgent first), pause stale schedules,
    decide the winners of A/B tests that are over (releasing their held rows) and finish
    empty campaigns.

    Returns the ids of campaigns started.
    """
    owner = owner or worker_id()
    if not acquire_scheduler(owner):
        return []
    now = now or clock.now()
    reclaim_expired(now)
    # Rate windows count real minutes (the platform's), not the product's pinned clock.
    ratelimit.forget_before()
    started: list[int] = []
    due = Campaign.objects.filter(status=S.SCHEDULED, scheduled_for__lte=now).order_by(
        "-urgent", "scheduled_for", "pk"
    )
    for campaign in due:
        assert campaign.scheduled_for is not None  # by the filter above
        late = (now - campaign.scheduled_for).total_seconds()
        with transaction.atomic():
            current = Campaign.objects.select_for_update().get(pk=campaign.pk)
            if current.status != S.SCHEDULED:
                continue
            if late > current.max_lateness_s or (current.deadline and now > current.deadline):
                current.status = S.PAUSED
                current.pause_reason = (
                    f"计划于 {current.scheduled_for:%Y-%m-%d %H:%M} 发送，已晚 {int(late // 60)} 分钟；"
                    "请确认后再继续（stale schedule: resume to send now）"
                )
                current.save(update_fields=["status", "pause_reason", "updated_at"])
                continue
            current.status = S.SENDING
            current.started_at = current.started_at or now
            current.save(update_fields=["status", "started_at", "updated_at"])
            started.append(current.pk)
    variants.decide_due(now)
    for campaign in Campaign.objects.filter(status=S.SENDING):
        _maybe_done(campaign)
    return started
