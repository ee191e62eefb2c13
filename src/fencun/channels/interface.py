"""The channel interface: what every channel a merchant reaches people on offers.

A channel declares its capabilities, its platform's limits (each with the page it comes
from), how it sends one batch of the outbox, how it reads a receipt the platform reports
back, and where that platform's callback arrives. The Official Account
(``channels/wechat/channel.py``), WeCom customer contact (``channels/wecom/channel.py``)
and the Weibo broadcast channel (``channels/broadcast/channel.py``) implement it.
Delivery (``campaigns/delivery.py``) picks a campaign's channel, sends through it and
handles every channel's errors alike: ``retryable`` ones are tried again with
backoff, a channel's ``row_failures`` fail only the batch, anything else pauses the
campaign with the reason shown. Recipients a channel reports in ``Sent.refused`` are
taken out of the sent batch and recorded as failed, each with its reason.

Recipients are person keys: a follower's openid, or for a WeCom customer who does not
follow the account ``wecom:<external_userid>`` (see ``channels/wecom/people.py``); one
person is one key, whatever channel reaches them, so the engine keeps one attention
budget per person.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, Protocol


class Capability(StrEnum):
    PER_USER = "per_user"  # a message to one person (Official Account customer service)
    MASS_TO_SET = "mass_to_set"  # one message to a chosen set of people
    BROADCAST = "broadcast"  # one public post to everyone, no targeting
    MOMENTS = "moments"  # posts in customers' Moments feeds (WeCom customer Moments)


@dataclass(frozen=True)
class Limit:
    """One platform limit, as the console shows it read-only."""

    name: str
    value: Any
    source: str
    note: str = ""


@dataclass(frozen=True)
class Content:
    """What a batch says. ``media_id`` is a stored article or image the platform already
    has (empty: the channel builds the message from the text)."""

    title: str
    body: str
    message_type: str = "text"  # news | text | image
    media_id: str = ""
    variant: str = "A"  # the A/B letter whose title this is
    cover: bytes = b""  # a news article's cover image (JPEG); empty: the channel's plain one
    link: str = ""  # where a news article's 阅读原文 leads (a tracked link where possible)


@dataclass(frozen=True)
class Batch:
    """One outbox row: who, what, and the idempotency key every attempt reuses."""

    key: str
    recipients: tuple[str, ...]
    clientmsgid: str
    content: Content
    attempt: int = 1
    #: Facts the platform checks that only the product knows, e.g. ``last_interaction_at``
    #: for a customer-service message's 48-hour window.
    context: Mapping[str, Any] = field(default_factory=dict)


class Memo(Protocol):
    """Values a channel stores against a batch so that a later attempt (after a crash or
    a retry) reuses them instead of creating them again: a delivery tag, an uploaded
    article, a WeCom task id. ``get`` answers "" when nothing is stored."""

    def get(self, name: str) -> str: ...

    def put(self, name: str, value: str) -> str:
        """Store ``value``; return the value that stands (another attempt's, if it won)."""
        ...


@dataclass(frozen=True)
class Sent:
    """A batch the platform accepted: its id there (``msg_id`` as a number where the
    platform gives one), and recipients it refused at once."""

    reference: str = ""
    msg_id: int | None = None
    refused: tuple[str, ...] = ()
    #: Why each of ``refused`` was refused, where the channel knows ({recipient: reason}).
    refused_reasons: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Receipt:
    """What the platform reported about something sent: for ``reference`` (a msg_id,
    task id or post id), how many were delivered and how many failed, or one
    recipient's status."""

    channel: str
    reference: str
    status: str  # delivered | failed | pending | partial | posted
    delivered: int = 0
    failed: int = 0
    recipient: str = ""
    at: datetime | None = None
    #: A publish without a push (WeChat's PUBLISHJOBFINISH): the published article's id
    #: and each article's permanent URL, or the failed articles (first 1) and why.
    article_id: str = ""
    article_urls: tuple[str, ...] = ()
    failed_items: tuple[int, ...] = ()
    reason: str = ""


class Channel(Protocol):
    name: str  # wechat | wecom | weibo (as costs and the console name them)
    capabilities: frozenset[Capability]
    #: The URL path the platform's callback posts to ("" where it has none).
    callback_path: str
    #: Errors that fail only this batch (a recipient the platform refuses), not the campaign.
    row_failures: tuple[type[Exception], ...]

    def limits(self) -> list[Limit]: ...

    def send(self, batch: Batch, memo: Memo) -> Sent: ...

    def parse_receipt(self, kind: str, payload: Mapping[str, Any]) -> Receipt | None: ...


def is_retryable(exc: Exception) -> bool:
    """Whether trying the same batch again later may succeed (a transport failure, a
    busy or rate-limited platform, a token that was refreshed meanwhile)."""
    from fencun.channels.wechat.errors import TokenInvalid
    from fencun.channels.wecom.errors import TokenInvalid as WeComTokenInvalid

    return bool(getattr(exc, "retryable", False)) or isinstance(
        exc, TokenInvalid | WeComTokenInvalid
    )
