"""Subscription notices (订阅通知): service notices a follower asked for, one per accept.

On a verified service account, a follower accepts a notice template in a popup (an
article or an H5 page); the platform reports it (``subscribe_msg_popup_event``) and the
event log keeps it. Each accept allows one notice of that template; turning notices off
in WeChat's settings (``subscribe_msg_change_event``) voids what is left. fencun counts
from the log what each follower has left, refuses a notice without an accept before the
platform is called (and counts it), and sends each notice at most once under the caller's
key. These are for service notices — an order shipped, an appointment — never marketing.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from typing import Any

from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from fencun import clock, inputs
from fencun.accounts.models import Account
from fencun.audience import kinds
from fencun.audience.models import Event
from fencun.channels.wechat.client import WeChatClient
from fencun.channels.wechat.errors import (
    ChannelError,
    LimitRefused,
    OutcomeUnknown,
    TransportError,
    WeChatError,
)
from fencun.channels.wechat.notices import NoticeTemplate, check_data
from fencun.operations.models import NoticeSend
from fencun.operations.platform_words import platform_words

#: What spends an accept: sent, going out, or possibly out.
SPENT = (NoticeSend.Status.SENDING, NoticeSend.Status.SENT, NoticeSend.Status.UNKNOWN)
NO_CONSENT_CODE = 43101  # the platform's answer to a notice without an accept


class NoticeError(inputs.FieldErrors):
    """A notice refused before it was sent: ``errors`` by field; nothing was sent."""


def consents(account: Account, openid: str) -> dict[str, int]:
    """Accepts left per template for ``openid``: accepts since the follower last turned
    the template off, less the notices spent since."""
    granted: Counter[str] = Counter()
    reset: dict[str, datetime] = {}
    rows = (
        Event.objects.filter(account=account, openid=openid, kind__in=(kinds.NOTICE_POPUP, kinds.NOTICE_CHANGE))
        .order_by("occurred_at", "id")
        .values_list("kind", "occurred_at", "payload")
    )
    for kind, at, payload in rows:
        for item in (payload or {}).get("templates") or []:
            template_id, status = str(item.get("template_id")), item.get("status")
            if kind == kinds.NOTICE_POPUP and status == "accept":
                granted[template_id] += 1
            elif kind == kinds.NOTICE_CHANGE and status == "reject":
                granted[template_id] = 0
                reset[template_id] = at
    left = {}
    for template_id, count in granted.items():
        spent = NoticeSend.objects.filter(
            account=account, openid=openid, template_id=template_id, status__in=SPENT
        )
        if template_id in reset:
            spent = spent.filter(created_at__gt=reset[template_id])
        left[template_id] = max(0, count - spent.count())
    return left


def _check(template: NoticeTemplate | None, data: Any, page: str) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    if template is None:
        return {"template_id": [_("The account has not selected this notice template.")]}
    if not isinstance(data, dict) or not all(isinstance(v, str) for v in data.values()):
        return {"data": [_("The data maps each keyword (thing1, time2…) to its text.")]}
    problems = check_data({k: {"value": v} for k, v in data.items()}, list(template.keywords))
    for p in problems:
        limit = _(" (at most %(n)s characters)") % {"n": p.max_chars} if p.max_chars else ""
        errors.setdefault("data", []).append(
            _("%(key)s: missing, or not what a “%(kind)s” keyword takes%(limit)s.")
            % {"key": p.key, "kind": p.kind or "?", "limit": limit}
        )
    unknown = sorted(set(data) - set(template.keywords))
    if unknown:
        errors.setdefault("data", []).append(_("Not keywords of the template: %(keys)s.") % {"keys": ", ".join(unknown)})
    if inputs.has_nul(data) or inputs.has_nul(page) or len(page) > 1024:
        errors.setdefault("page", []).append(_("must not contain a NUL character"))
    return errors


def send(
    account: Account,
    client: WeChatClient,
    *,
    openid: str,
    template_id: str,
    data: dict[str, str],
    key: str,
    page: str = "",
    templates: list[NoticeTemplate] | None = None,
) -> NoticeSend:
    """Send one notice, at most once per ``key``: the same key again answers the first
    send's row and sends nothing. :class:`NoticeError` for a bad template or data (nothing
    recorded); without an accept left, a ``no_consent`` row and no call."""
    if not key or len(key) > 128 or inputs.has_nul(key):
        raise NoticeError({"key": [_("A key of 1 to 128 characters makes the notice sent once.")]})
    earlier = NoticeSend.objects.filter(account=account, key=key).first()
    if earlier is not None:
        return earlier
    listed = templates if templates is not None else selected_templates(client)
    template = next((t for t in listed if t.id == template_id), None)
    errors = _check(template, data, page)
    if errors:
        raise NoticeError(errors)
    row = NoticeSend(account=account, openid=openid, template_id=template_id, key=key, data=data, page=page)
    try:
        with transaction.atomic():
            # The consent count and the claim in one transaction: two sends of one accept
            # at once cannot both see it left (the second waits on the first's row).
            if consents(account, openid).get(template_id, 0) <= 0:
                row.status = NoticeSend.Status.NO_CONSENT
            row.save()
    except IntegrityError:  # the same key, saved meanwhile by another request
        return NoticeSend.objects.get(account=account, key=key)
    if row.status == NoticeSend.Status.NO_CONSENT:
        return row
    return _deliver(row, client)


def selected_templates(client: WeChatClient) -> list[NoticeTemplate]:
    try:
        return client.notice_templates()
    except WeChatError as exc:
        raise NoticeError({"__all__": [platform_words(exc)]}) from None
    except ChannelError:
        raise NoticeError({"__all__": [_("WeChat could not be reached; nothing was sent. Try again.")]}) from None


def _deliver(row: NoticeSend, client: WeChatClient) -> NoticeSend:
    try:
        row.msgid = client.send_notice(row.openid, row.template_id, row.data, page=row.page)
    except WeChatError as exc:
        row.status = NoticeSend.Status.NO_CONSENT if exc.errcode == NO_CONSENT_CODE else NoticeSend.Status.REFUSED
        row.detail = str(exc)[:300]
    except (OutcomeUnknown, TransportError) as exc:
        # The platform may have sent it: never again, so that nobody gets it twice.
        row.status, row.detail = NoticeSend.Status.UNKNOWN, str(exc)[:300]
    except ChannelError as exc:  # refused by the client before calling
        row.status, row.detail = NoticeSend.Status.REFUSED, str(exc)[:300]
    else:
        row.status, row.sent_at = NoticeSend.Status.SENT, clock.now()
    row.save(update_fields=["status", "msgid", "detail", "sent_at"])
    return row


def add_template(client: WeChatClient, tid: int, kids: list[int], scene: str) -> str:
    """Select a library template with the keywords ``kids`` for the service ``scene``;
    its id. :class:`NoticeError` with the refusal in the merchant's words."""
    try:
        return client.add_notice_template(tid, kids, scene)
    except WeChatError as exc:
        raise NoticeError({"__all__": [platform_words(exc)]}) from None
    except LimitRefused:
        raise NoticeError({"__all__": [_("Choose 2 to 5 keywords and a scene of 1 to 15 characters.")]}) from None
    except ChannelError:
        raise NoticeError({"__all__": [_("WeChat could not be reached; nothing was changed. Try again.")]}) from None


def counts(account: Account) -> dict[str, int]:
    """Notices by status, for the account's reports."""
    return dict(Counter(NoticeSend.objects.filter(account=account).values_list("status", flat=True)))
