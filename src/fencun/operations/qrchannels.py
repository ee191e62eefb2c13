"""Channel QR codes (渠道码): one parametric code per store, poster or event.

A code is made by the platform (``qrcode/create`` with a ``scene_str``): permanent, or
temporary for up to 30 days. fencun draws it itself from the URL the platform returns
(segno), so it prints and downloads offline, as PNG or as SVG with the channel's name
under it. Who subscribes or scans through it gets the channel's welcome (the gateway's
passive reply) and its tags (:mod:`fencun.operations.channel_tags`); insights count each
channel's followers, their retention and their orders.
"""

from __future__ import annotations

import io
import re
import secrets
from datetime import timedelta
from typing import Any
from xml.sax.saxutils import escape

import segno
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from fencun import clock, inputs
from fencun.accounts import audit
from fencun.accounts.models import Account
from fencun.audience.models import Store
from fencun.channels.wechat.account_limits import limit
from fencun.channels.wechat.client import WeChatClient
from fencun.channels.wechat.errors import ChannelError, WeChatError
from fencun.engine.limits import load_platform_limits
from fencun.operations.channel_fields import check_common
from fencun.operations.models import QrChannel
from fencun.operations.platform_words import platform_words

#: Scenes fencun makes and accepts: letters, digits, ``_`` and ``-`` (the EventKey comes
#: back inside XML, and a merchant reads it in reports).
SCENE_PATTERN = re.compile(r"[A-Za-z0-9_-]+")
TAG_NAME_MAX_CHARS = 30  # the tag API's limit on a name (tags/create)
WELCOME_MAX_CHARS = 600  # a passive text reply, well under the message size limit
SECONDS_PER_DAY = 86_400
EDITABLE = ("name", "kind", "welcome", "tag_names", "store", "archived")


class ChannelInputError(inputs.FieldErrors):
    """A refused channel: ``errors`` maps each bad field to why; nothing was saved."""


def _check_fields(account: Account, fields: dict[str, Any]) -> dict[str, list[str]]:
    errors = check_common(fields, QrChannel.Kind.values)
    if inputs.has_nul(fields):  # nothing else of such input is worth reading
        return errors

    def bad(name: str, message: str) -> None:
        errors.setdefault(name, []).append(message)

    if "welcome" in fields:
        welcome = fields["welcome"]
        if not isinstance(welcome, str) or len(welcome) > WELCOME_MAX_CHARS:
            bad("welcome", _("A welcome has at most %(limit)s characters.") % {"limit": WELCOME_MAX_CHARS})
    if "tag_names" in fields:
        names = fields["tag_names"]
        per_follower = int(load_platform_limits(account.account_type).tags_per_follower)
        if not isinstance(names, list | tuple) or len(names) > per_follower:
            bad("tag_names", _("At most %(limit)s tags.") % {"limit": per_follower})
        elif any(not isinstance(t, str) or not t.strip() or len(t) > TAG_NAME_MAX_CHARS for t in names):
            bad("tag_names", _("A tag name has 1 to %(limit)s characters.") % {"limit": TAG_NAME_MAX_CHARS})
    store = fields.get("store")
    if store is not None and (not isinstance(store, Store) or store.account_id not in (None, account.pk)):
        bad("store", _("The store belongs to another account."))
    return errors


def _check_scene(account: Account, scene: str) -> list[str]:
    most = int(limit("qrcode", "scene_str_max_chars"))
    if not 1 <= len(scene) <= most or not SCENE_PATTERN.fullmatch(scene):
        return [_("A scene has 1 to %(limit)s letters, digits, “_” or “-”.") % {"limit": most}]
    if QrChannel.objects.filter(account=account, scene=scene).exists():
        return [_("Another channel of the account has this scene.")]
    return []


def create_channel(
    account: Account,
    client: WeChatClient,
    *,
    name: str,
    kind: str = QrChannel.Kind.OTHER,
    scene: str | None = None,
    permanent: bool = True,
    expire_days: int | None = None,
    welcome: str = "",
    tag_names: list[str] | tuple[str, ...] = (),
    store: Store | None = None,
) -> QrChannel:
    """Make a channel's code on the platform and record it. :class:`ChannelInputError`
    for bad fields or a refusal of the platform; nothing is recorded then."""
    fields = {"name": name, "kind": kind, "welcome": welcome, "tag_names": list(tag_names), "store": store}
    errors = _check_fields(account, fields)
    scene = scene if scene else f"ch_{secrets.token_hex(6)}"
    if not isinstance(scene, str) or inputs.has_nul(scene):
        errors["scene"] = [_("must not contain a NUL character")]
    else:
        scene_errors = _check_scene(account, scene)
        if scene_errors:
            errors["scene"] = scene_errors
    days_max = int(limit("qrcode", "temporary_expire_seconds_max")) // SECONDS_PER_DAY
    if not permanent and (not isinstance(expire_days, int) or isinstance(expire_days, bool) or not 1 <= expire_days <= days_max):
        errors["expire_days"] = [_("A temporary code lasts 1 to %(limit)s days.") % {"limit": days_max}]
    if errors:
        raise ChannelInputError(errors)
    seconds = None if permanent else int(expire_days or 0) * SECONDS_PER_DAY
    try:
        made = client.create_qrcode(scene, permanent=permanent, expire_seconds=seconds)
    except WeChatError as exc:
        raise ChannelInputError({"__all__": [platform_words(exc)]}) from None
    except ChannelError:
        raise ChannelInputError(
            {"__all__": [_("WeChat could not be reached; nothing was changed. Try again.")]}
        ) from None
    expires_at = None
    if made.expire_seconds is not None:
        expires_at = clock.now() + timedelta(seconds=made.expire_seconds)
    try:
        with transaction.atomic():
            channel = QrChannel.objects.create(
                account=account, name=name.strip(), kind=kind, scene=scene, permanent=permanent,
                expires_at=expires_at, ticket=made.ticket, url=made.url, welcome=welcome,
                tag_names=[t.strip() for t in tag_names], store=store,
            )
            audit.record(account, "qr_channel.created", channel, name=channel.name, scene=scene)
            return channel
    except IntegrityError:  # the same scene saved meanwhile by another request
        raise ChannelInputError({"scene": [_("Another channel of the account has this scene.")]}) from None


def update_channel(channel: QrChannel, **fields: Any) -> QrChannel:
    """Change what a channel does (its code stays): the fields of :data:`EDITABLE`."""
    unknown = sorted(set(fields) - set(EDITABLE))
    if unknown:
        raise ChannelInputError({name: [_("cannot be changed")] for name in unknown})
    errors = _check_fields(channel.account, fields)
    if "archived" in fields and not isinstance(fields["archived"], bool):
        errors["archived"] = [_("true or false")]
    if errors:
        raise ChannelInputError(errors)
    for name, value in fields.items():
        setattr(channel, name, [t.strip() for t in value] if name == "tag_names" else value)
    with transaction.atomic():
        channel.save()
        audit.record(channel.account, "qr_channel.changed", channel, fields=sorted(fields))
    return channel


def expired(channel: QrChannel) -> bool:
    return channel.expires_at is not None and channel.expires_at <= clock.now()


# -- drawing -----------------------------------------------------------------------------


def _qr(channel: QrChannel) -> segno.QRCode:
    return segno.make(channel.url, error="m", micro=False)


def png(channel: QrChannel, scale: int = 10) -> bytes:
    """The code as a PNG (``scale`` pixels a module, the standard quiet zone)."""
    out = io.BytesIO()
    _qr(channel).save(out, kind="png", scale=max(1, min(scale, 40)), border=4)
    return out.getvalue()


def svg(channel: QrChannel, scale: int = 8) -> str:
    """The code as SVG with the channel's name under it, for print."""
    qr = _qr(channel)
    scale = max(1, min(scale, 40))
    inner = io.BytesIO()
    qr.save(inner, kind="svg", scale=scale, border=4, xmldecl=False, svgns=False, svgclass=None, lineclass=None)
    side = qr.symbol_size(scale=scale, border=4)[0]
    caption = 2 * scale + 16
    body = inner.getvalue().decode("utf-8")
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{side}" height="{side + caption}" '
        f'viewBox="0 0 {side} {side + caption}">'
        f'<rect width="100%" height="100%" fill="#fff"/>{body}'
        f'<text x="{side / 2:g}" y="{side + caption / 2:g}" text-anchor="middle" '
        f'font-family="sans-serif" font-size="16">{escape(channel.name)}</text></svg>'
    )
