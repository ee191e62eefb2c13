"""Tracked links: ``/r/<token>``, signed, one per recipient, campaign and product.

The token carries the target itself, signed with the secret key (``django.core.signing``,
its own salt), so a redirect can only go where fencun sent it: a changed character
fails the signature and the link is refused, never followed.

A click is evidence of interest that the planner acts on, and the endpoint is public, so
what it records is bounded: every request is redirected, but only a person's click counts
(not a HEAD, a prefetch, a link preview or a crawler: ``data/link_visitors.json``), once
per recipient, or per client for a mass send's shared link, per link per
:data:`CLICK_WINDOW`, and at most :data:`CLIENT_CLICKS_PER_MINUTE` from one address.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from django.core import signing
from django.urls import reverse
from django.utils.translation import gettext as _

from fencun.accounts.current import default_account
from fencun.accounts.models import Account
from fencun.audience import kinds
from fencun.audience.services import record_event
from fencun.campaigns import ratelimit
from fencun.content.urls import URL

_SALT = "fencun.insights.link"
SOURCE = "link"

# Clicks on one link by one recipient (or one client, for a shared link) within a fixed
# window of this length count once: a person who taps twice, or reloads, showed interest
# once; one who comes back later showed it again.
CLICK_WINDOW = timedelta(minutes=30)

# Clicks counted from one client address per clock minute, across all links: more is a
# script, not people (a shop's Wi-Fi or a carrier's NAT stays well below it). Beyond it
# the links still redirect.
CLIENT_CLICKS_PER_MINUTE = 60
_RATE_API = "link_click"  # the shared per-minute counter's name for these clicks


@cache
def _visitors() -> dict[str, Any]:
    return json.loads((Path(__file__).parent / "data" / "link_visitors.json").read_text("utf-8"))


@dataclass(frozen=True)
class Visit:
    """One request to a tracked link: its method, the client's address and the headers
    that tell a person's click from a preview, a prefetch or a crawler."""

    method: str
    address: str
    user_agent: str
    purposes: tuple[str, ...] = ()  # values of the prefetch headers it carried

    @classmethod
    def of(cls, meta: Mapping[str, Any]) -> Visit:
        """The visit a WSGI environ (Django's ``request.META``) describes."""
        purposes = tuple(str(meta.get(h, "")) for h in _visitors()["prefetch_headers"] if meta.get(h))
        return cls(
            method=str(meta.get("REQUEST_METHOD", "")).upper(),
            address=str(meta.get("REMOTE_ADDR", "")),
            user_agent=str(meta.get("HTTP_USER_AGENT", "")),
            purposes=purposes,
        )

    def is_click(self) -> bool:
        """Whether a person opened the link (a GET from a browser, not a prefetch or a bot)."""
        if self.method != "GET":
            return False
        data = _visitors()
        headers = data["prefetch_headers"]
        for value in self.purposes:
            low = value.lower()
            if any(word in low for words in headers.values() for word in words):
                return False
        if not self.user_agent.startswith(data["browser_prefix"]):
            return False
        agent = self.user_agent.lower()
        return not any(word in agent for word in data["crawler_substrings"])

    def client(self) -> str:
        """A digest standing for this client (address and browser): a shared link's clicks
        count once per client, and no address is stored."""
        return hashlib.sha256(f"{self.address}\n{self.user_agent}".encode()).hexdigest()[:16]


class LinkError(ValueError):
    """A token that is not ours, or a target we will not redirect to; the message is in
    the active language (the follower's browser's, 简体中文 by default)."""


@dataclass(frozen=True)
class Link:
    account_id: int
    campaign_id: int | None
    openid: str
    product_id: str | None
    target: str
    article: bool


def check_target(target: str) -> str:
    """Return ``target`` if it is an absolute http(s) URL with a host, else raise."""
    parts = urlsplit(target)
    if parts.scheme not in ("http", "https") or not parts.netloc or any(c in target for c in "\r\n\t "):
        raise LinkError(_("not an http(s) URL: %(url)s") % {"url": repr(target[:80])})
    return target


def make_token(
    account_id: int,
    campaign_id: int | None,
    openid: str,
    product_id: str | int | None,
    target: str,
    *,
    article: bool = False,
) -> str:
    data = {"a": account_id, "c": campaign_id, "o": openid, "u": check_target(target)}
    if product_id is not None:
        data["p"] = str(product_id)
    if article:
        data["r"] = 1
    return signing.dumps(data, salt=_SALT, compress=True)


def tracked_url(
    campaign_id: int | None,
    openid: str,
    product_id: str | int | None,
    target: str,
    *,
    account: Account | None = None,
    article: bool = False,
    base_url: str = "",
) -> str:
    """The tracked form of ``target`` for one recipient of one campaign.

    ``article=True`` marks the campaign's article itself: opening it also records a
    ``read``. ``base_url`` (e.g. ``https://shop.example.com``) makes the URL absolute;
    without it the path alone is returned. ``account`` defaults to the default account.
    """
    if account is None:

        account = default_account()
        if account is None:
            raise LinkError(_("no account"))
    token = make_token(account.pk, campaign_id, openid, product_id, target, article=article)
    return base_url.rstrip("/") + reverse("insights-link", args=[token])


def track_text(
    text: str, *, account: Account, campaign_id: int | None, openid: str = "", base_url: str
) -> str:
    """``text`` with every http(s) link replaced by its tracked link (``openid`` empty:
    one link for everyone, as a mass send or a public post carries)."""
    return URL.sub(
        lambda m: tracked_url(campaign_id, openid, None, m.group(0), account=account, base_url=base_url), text
    )


def parse_token(token: str) -> Link:
    """The link a token stands for; :class:`LinkError` if it was not signed by us."""
    try:
        data = signing.loads(token, salt=_SALT)
    except (signing.BadSignature, ValueError, TypeError, OverflowError) as exc:
        raise LinkError(_("bad link signature")) from exc
    if not isinstance(data, dict) or not isinstance(data.get("u"), str):
        raise LinkError(_("malformed link"))
    campaign = data.get("c")
    return Link(
        account_id=int(data["a"]),
        campaign_id=int(campaign) if campaign is not None else None,
        openid=str(data.get("o") or ""),
        product_id=data.get("p"),
        target=check_target(data["u"]),
        article=bool(data.get("r")),
    )


def _counted(visit: Visit, at: datetime) -> bool:
    """Whether this visit's click is recorded: a person's, within the address's rate."""
    if not visit.is_click():
        return False
    address = hashlib.sha256(visit.address.encode()).hexdigest()[:32]
    # The shared per-minute counter (every worker, every machine), keyed by the address's
    # digest where WeChat's calls are keyed by the app id.
    return ratelimit.take(address, _RATE_API, CLIENT_CLICKS_PER_MINUTE, now=at.timestamp()) == 0.0


def follow(token: str, at: datetime, visit: Visit | None = None) -> str:
    """Record the click (and the read, for an article) and return where to redirect.

    ``visit`` is the request (``None``: a click known to be a person's, e.g. a simulated
    world's). A recipient's clicks on one link count once per :data:`CLICK_WINDOW`, and so
    do one client's on a shared link (a mass send's); the read of a campaign counts once
    per recipient. Previews, prefetches, crawlers and clicks past the address's rate are
    redirected but not recorded.
    """
    link = parse_token(token)
    account = Account.objects.filter(pk=link.account_id).first()
    if account is None:
        raise LinkError(_("unknown account"))
    if visit is not None and not _counted(visit, at):
        return link.target
    url_hash = hashlib.sha256(link.target.encode()).hexdigest()[:16]
    window = int(at.timestamp() // CLICK_WINDOW.total_seconds())
    if link.openid:
        who = link.openid
    elif visit is not None:
        who = f"c{visit.client()}"
    else:
        who = f"x{secrets.token_hex(8)}"  # a shared link with no client to tell apart
    dedup_key = f"link:{link.campaign_id}:{who}:{link.product_id}:{url_hash}:{window}"
    record_event(
        account,
        kind=kinds.LINK_CLICK,
        openid=link.openid,
        occurred_at=at,
        payload={"campaign": link.campaign_id, "product": link.product_id, "url": link.target},
        source=SOURCE,
        dedup_key=dedup_key,
    )
    if link.article and link.campaign_id is not None:
        record_event(
            account,
            kind=kinds.READ,
            openid=link.openid,
            occurred_at=at,
            payload={"campaign": link.campaign_id},
            source=SOURCE,
            dedup_key=f"read:{link.campaign_id}:{link.openid}",
        )
    return link.target
