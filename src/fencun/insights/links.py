"""Tracked links: ``/r/<token>``, signed, one per recipient, campaign and product.

The token carries the target itself, signed with the secret key (``django.core.signing``,
its own salt), so a redirect can only go where fencun sent it: a changed character
fails the signature and the link is refused, never followed.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlsplit

from django.core import signing
from django.urls import reverse

from fencun.audience import kinds
from fencun.audience.services import record_event
from fencun.channels.models import Account
from fencun.content.urls import URL

_SALT = "fencun.insights.link"
SOURCE = "link"


class LinkError(ValueError):
    """A token that is not ours, or a target we will not redirect to."""


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
        raise LinkError(f"not an http(s) URL: {target[:80]!r}")
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
        from fencun.channels.accounts import default_account

        account = default_account()
        if account is None:
            raise LinkError("no account")
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
        raise LinkError("bad link signature") from exc
    if not isinstance(data, dict) or not isinstance(data.get("u"), str):
        raise LinkError("malformed link")
    campaign = data.get("c")
    return Link(
        account_id=int(data["a"]),
        campaign_id=int(campaign) if campaign is not None else None,
        openid=str(data.get("o") or ""),
        product_id=data.get("p"),
        target=check_target(data["u"]),
        article=bool(data.get("r")),
    )


def follow(token: str, at: datetime) -> str:
    """Record the click (and the read, for an article) and return where to redirect.

    A recipient's clicks on one link count once (the de-duplication key is the link
    itself); the read of a campaign counts once per recipient.
    """
    link = parse_token(token)
    account = Account.objects.filter(pk=link.account_id).first()
    if account is None:
        raise LinkError("unknown account")
    url_hash = hashlib.sha256(link.target.encode()).hexdigest()[:16]
    dedup_key = f"link:{link.campaign_id}:{link.openid}:{link.product_id}:{url_hash}"
    if not link.openid:
        # A public link (a broadcast post) has no recipient to count once: every click counts.
        dedup_key += f":{secrets.token_hex(8)}"
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
