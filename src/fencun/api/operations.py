"""Account operations through the API: channel QR codes and the custom menu, the same
actions as the console's pages (``fencun.operations``)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any, Literal

from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from ninja import Field, Router, Schema, Status

from fencun.accounts.models import Account
from fencun.api.auth import no_account, token_account
from fencun.api.schemas import AppId, ErrorOut, FieldErrorOut, OpenId, Text64
from fencun.audience.models import Store
from fencun.channels.services import wechat_client
from fencun.channels.wechat.client import WeChatClient
from fencun.insights.channel_stats import ChannelStats, channel_stats
from fencun.operations import menus, notices, qrchannels
from fencun.operations.models import Menu, NoticeSend, QrChannel

router = Router(tags=["account operations"])

Kind = Literal["store", "poster", "event", "other"]


class ChannelOut(Schema):
    id: int
    name: str
    kind: str
    scene: str = Field(description="the code's scene_str: subscribe events carry it as `subscribe_scene_value`")
    permanent: bool
    expires_at: datetime | None
    expired: bool
    url: str = Field(description="what the code encodes")
    store: int | None
    welcome: str
    tag_names: list[str]
    archived: bool
    subscribed: int = Field(description="followers who subscribed through the code")
    staying: int = Field(description="of them, still subscribed")
    scans: int = Field(description="scans by people who already followed")
    orders: int = Field(description="orders of those followers since the code was made")
    revenue: float = Field(description="their revenue, yuan")
    created_at: datetime


class ChannelIn(Schema):
    account: AppId | None = Field(None, description="the account (AppID); default: the token's only account")
    name: Text64
    kind: Kind = "other"
    scene: Text64 | None = Field(None, description="letters, digits, _ and -; default: made up")
    permanent: bool = True
    expire_days: int | None = Field(None, description="a temporary code's life, 1-30 days")
    welcome: str = Field("", max_length=600, description="the reply on subscribe and scan")
    tag_names: list[Text64] = Field(default_factory=list, max_length=20)
    store: int | None = None


class ChannelPatch(Schema):
    """Only the fields given change; the code itself stays."""

    name: Text64 | None = None
    kind: Kind | None = None
    welcome: str | None = Field(None, max_length=600)
    tag_names: list[Text64] | None = Field(None, max_length=20)
    store: int | None = None
    archived: bool | None = None


def _channels(request: HttpRequest) -> QuerySet[QrChannel]:
    token = request.auth  # type: ignore[attr-defined]
    return QrChannel.objects.filter(account__in=token.accounts.all()).select_related("account")


def _no_channel() -> dict[str, str]:
    return {"detail": _("No such QR channel for this token.")}


def _channel_out(channel: QrChannel, stats: ChannelStats | None) -> dict[str, Any]:
    figures = {"subscribed": 0, "staying": 0, "scans": 0, "orders": 0, "revenue": 0.0}
    if stats is not None:
        figures = {k: getattr(stats, k) for k in figures}
    return {
        "id": channel.pk, "name": channel.name, "kind": channel.kind, "scene": channel.scene,
        "permanent": channel.permanent, "expires_at": channel.expires_at,
        "expired": qrchannels.expired(channel), "url": channel.url, "store": channel.store_id,
        "welcome": channel.welcome, "tag_names": list(channel.tag_names), "archived": channel.archived,
        "created_at": channel.created_at, **figures,
    }


def _stats_of(account: Account) -> dict[int, ChannelStats]:
    return {s.channel_id: s for s in channel_stats(account)}


def _store(account: Account, store_id: int | None) -> Store | None:
    if store_id is None:
        return None
    store = Store.objects.filter(pk=store_id, account=account).first()
    if store is None:
        raise qrchannels.ChannelInputError({"store": [_("No such store in this account.")]})
    return store


def _refused(exc: qrchannels.ChannelInputError) -> Status:
    return Status(400, {"detail": _("Refused: nothing was saved."), "errors": exc.errors})


def _not_connected() -> list[str]:
    return [_("The account is not connected to WeChat yet (no AppSecret, or it cannot be read).")]


@router.get("/qr-channels", response={200: list[ChannelOut], 404: ErrorOut}, summary="The account's channel QR codes, with what each brought")
def list_channels(request: HttpRequest, account: AppId | None = None):
    acct = token_account(request, account)
    if acct is None:
        return Status(404, no_account())
    stats = _stats_of(acct)
    rows = QrChannel.objects.filter(account=acct).order_by("-id")[:500]
    return Status(200, [_channel_out(c, stats.get(c.pk)) for c in rows])


@router.post("/qr-channels", response={201: ChannelOut, 400: FieldErrorOut, 404: ErrorOut}, summary="Make a channel QR code on the platform")
def post_channel(request: HttpRequest, body: ChannelIn):
    acct = token_account(request, body.account)
    if acct is None:
        return Status(404, no_account())
    try:
        store = _store(acct, body.store)
        with wechat_client(acct) as client:
            channel = qrchannels.create_channel(
                acct, client, name=body.name, kind=body.kind, scene=body.scene,
                permanent=body.permanent, expire_days=body.expire_days, welcome=body.welcome,
                tag_names=body.tag_names, store=store,
            )
    except qrchannels.ChannelInputError as exc:
        return _refused(exc)
    except ValueError:
        return Status(400, {"detail": _("Refused: nothing was saved."), "errors": {"__all__": _not_connected()}})
    return Status(201, _channel_out(channel, None))


@router.get("/qr-channels/{channel_id}", response={200: ChannelOut, 404: ErrorOut}, summary="One channel QR code")
def get_channel(request: HttpRequest, channel_id: int):
    channel = _channels(request).filter(pk=channel_id).first()
    if channel is None:
        return Status(404, _no_channel())
    return Status(200, _channel_out(channel, _stats_of(channel.account).get(channel.pk)))


@router.patch("/qr-channels/{channel_id}", response={200: ChannelOut, 400: FieldErrorOut, 404: ErrorOut}, summary="Change a channel's name, welcome, tags or store; archive it")
def patch_channel(request: HttpRequest, channel_id: int, body: ChannelPatch):
    channel = _channels(request).filter(pk=channel_id).first()
    if channel is None:
        return Status(404, _no_channel())
    changes = body.model_dump(exclude_unset=True)
    nulls = sorted(k for k, v in changes.items() if v is None and k != "store")
    if nulls:
        return Status(400, {"detail": _("Refused: nothing was saved."), "errors": {k: [_("must not be null")] for k in nulls}})
    try:
        if "store" in changes:
            changes["store"] = _store(channel.account, changes["store"])
        qrchannels.update_channel(channel, **changes)
    except qrchannels.ChannelInputError as exc:
        return _refused(exc)
    return Status(200, _channel_out(channel, _stats_of(channel.account).get(channel.pk)))


def _image(media_type: str) -> dict[str, Any]:
    """The OpenAPI answer of an image download."""
    return {"responses": {200: {"description": "the image", "content": {media_type: {"schema": {"type": "string", "format": "binary"}}}}}}


@router.get("/qr-channels/{channel_id}/code.png", response={200: None, 404: ErrorOut}, summary="The code as a PNG image", openapi_extra=_image("image/png"))
def channel_png(request: HttpRequest, channel_id: int):
    channel = _channels(request).filter(pk=channel_id).first()
    if channel is None:
        return Status(404, _no_channel())
    return HttpResponse(qrchannels.png(channel), content_type="image/png")


@router.get("/qr-channels/{channel_id}/code.svg", response={200: None, 404: ErrorOut}, summary="The code as SVG, with the channel's name under it", openapi_extra=_image("image/svg+xml"))
def channel_svg(request: HttpRequest, channel_id: int):
    channel = _channels(request).filter(pk=channel_id).first()
    if channel is None:
        return Status(404, _no_channel())
    return HttpResponse(qrchannels.svg(channel), content_type="image/svg+xml")


# -- menus -------------------------------------------------------------------------------


class MenuOut(Schema):
    id: int
    kind: str = Field(description="default, or personal (shown to a tag)")
    status: str = Field(description="draft, live or retired")
    origin: str = Field(description="edited in fencun, imported from the API or from the admin panel")
    tag_id: int | None
    client_platform_type: int | None
    buttons: list[dict[str, Any]] = Field(description="as the platform takes them; a click button may carry `reply`, the text fencun answers")
    notes: list[str] = Field(description="buttons of an imported admin-panel menu that still need a new action")
    menuid: str
    published_at: datetime | None
    updated_at: datetime


class MenuDraftIn(Schema):
    account: AppId | None = None
    kind: Literal["default", "personal"] = "default"
    tag_id: int | None = None
    client_platform_type: Literal[1, 2, 3] | None = None
    buttons: list[dict[str, Any]] = Field(max_length=3)


class MenuErrorOut(Schema):
    detail: str
    errors: list[str]


class ImportOut(Schema):
    live: list[MenuOut]
    panel_draft: MenuOut | None = Field(description="the admin panel's menu, to publish: it is off once fencun is the server")
    menu_open: bool


def _menu_out(menu: Menu) -> dict[str, Any]:
    return {
        "id": menu.pk, "kind": menu.kind, "status": menu.status, "origin": menu.origin,
        "tag_id": menu.tag_id, "client_platform_type": menu.client_platform_type,
        "buttons": menu.buttons, "notes": list(menu.notes), "menuid": menu.menuid,
        "published_at": menu.published_at, "updated_at": menu.updated_at,
    }


def _menus(request: HttpRequest) -> QuerySet[Menu]:
    token = request.auth  # type: ignore[attr-defined]
    return Menu.objects.filter(account__in=token.accounts.all()).select_related("account")


def _menu_refused(exc: menus.MenuError) -> Status:
    return Status(400, {"detail": _("Refused: nothing was changed."), "errors": exc.messages})


def _on_menus(account: Account, action: Callable[[WeChatClient], Any]) -> tuple[Any, Status | None]:
    """``action(client)`` on the account's WeChat: (its result, None), or (None, the 400)
    for a refusal or an account not connected."""
    try:
        with wechat_client(account) as client:
            return action(client), None
    except menus.MenuError as exc:
        return None, _menu_refused(exc)
    except ValueError:
        return None, Status(400, {"detail": _("Refused: nothing was changed."), "errors": _not_connected()})


def _no_menu() -> dict[str, str]:
    return {"detail": _("No such menu for this token.")}


@router.get("/menus", response={200: list[MenuOut], 404: ErrorOut}, summary="The account's live menus and drafts")
def list_menus(request: HttpRequest, account: AppId | None = None):
    acct = token_account(request, account)
    if acct is None:
        return Status(404, no_account())
    return Status(200, [_menu_out(m) for m in menus.live_menus(acct) + menus.drafts(acct)])


@router.put("/menus/draft", response={200: MenuOut, 400: MenuErrorOut, 404: ErrorOut}, summary="Save the draft of the default menu or of a tag's menu")
def put_draft(request: HttpRequest, body: MenuDraftIn):
    acct = token_account(request, body.account)
    if acct is None:
        return Status(404, no_account())
    try:
        menu = menus.save_draft(
            acct, body.buttons, kind=body.kind, tag_id=body.tag_id,
            client_platform_type=body.client_platform_type,
        )
    except menus.MenuError as exc:
        return _menu_refused(exc)
    return Status(200, _menu_out(menu))


@router.post("/menus/{menu_id}/publish", response={200: MenuOut, 400: MenuErrorOut, 404: ErrorOut}, summary="Publish a draft: the platform shows it at once")
def publish_menu(request: HttpRequest, menu_id: int):
    menu = _menus(request).filter(pk=menu_id).first()
    if menu is None:
        return Status(404, _no_menu())
    _, refused = _on_menus(menu.account, lambda client: menus.publish(menu, client))
    return refused if refused is not None else Status(200, _menu_out(menu))


@router.post("/menus/{menu_id}/withdraw", response={200: MenuOut, 400: MenuErrorOut, 404: ErrorOut}, summary="Take a live personalised menu off the platform")
def withdraw_menu(request: HttpRequest, menu_id: int):
    menu = _menus(request).filter(pk=menu_id).first()
    if menu is None:
        return Status(404, _no_menu())
    _, refused = _on_menus(menu.account, lambda client: menus.withdraw(menu, client))
    return refused if refused is not None else Status(200, _menu_out(menu))


@router.post("/menus/import", response={200: ImportOut, 400: MenuErrorOut, 404: ErrorOut}, summary="Import the account's menus from the platform")
def import_menus(request: HttpRequest, account: AppId | None = None):
    acct = token_account(request, account)
    if acct is None:
        return Status(404, no_account())
    found, refused = _on_menus(acct, lambda client: menus.import_menus(acct, client))
    if refused is not None:
        return refused
    return Status(200, {
        "live": [_menu_out(m) for m in found.live],
        "panel_draft": _menu_out(found.panel_draft) if found.panel_draft else None,
        "menu_open": found.menu_open,
    })


@router.get("/menus/preview", response={200: list[dict[str, Any]], 400: MenuErrorOut, 404: ErrorOut}, summary="The menu one follower sees (the platform's match)")
def preview_menu(request: HttpRequest, openid: OpenId, account: AppId | None = None):
    acct = token_account(request, account)
    if acct is None:
        return Status(404, no_account())
    buttons, refused = _on_menus(acct, lambda client: menus.preview_for(client, openid))
    return refused if refused is not None else Status(200, buttons)


# -- subscription notices ----------------------------------------------------------------


class NoticeTemplateOut(Schema):
    id: str
    title: str
    keywords: list[str] = Field(description="thing1, time2…: the keys `data` fills")


class NoticeIn(Schema):
    account: AppId | None = None
    openid: OpenId
    template_id: str = Field(max_length=128)
    data: dict[str, str] = Field(description="each keyword's text, e.g. {\"thing1\": \"北欧布艺沙发\"}")
    key: str = Field(max_length=128, description="sends once per key: the same key again answers the first send")
    page: str = Field("", max_length=1024, description="where the notice leads")


class NoticeOut(Schema):
    id: int
    openid: str
    template_id: str
    key: str
    status: str = Field(description="sent, no_consent (refused before sending), refused, unknown or sending")
    msgid: int | None
    detail: str
    created_at: datetime
    sent_at: datetime | None


def _notice_out(row: Any) -> dict[str, Any]:
    return {
        "id": row.pk, "openid": row.openid, "template_id": row.template_id, "key": row.key,
        "status": row.status, "msgid": row.msgid, "detail": row.detail,
        "created_at": row.created_at, "sent_at": row.sent_at,
    }


@router.get("/notices/templates", response={200: list[NoticeTemplateOut], 400: FieldErrorOut, 404: ErrorOut}, summary="The subscription-notice templates the account selected")
def notice_templates(request: HttpRequest, account: AppId | None = None):
    acct = token_account(request, account)
    if acct is None:
        return Status(404, no_account())
    try:
        with wechat_client(acct) as client:
            listed = notices.selected_templates(client)
    except notices.NoticeError as exc:
        return Status(400, {"detail": _("Refused: nothing was sent."), "errors": exc.errors})
    except ValueError:
        return Status(400, {"detail": _("Refused: nothing was sent."), "errors": {"__all__": _not_connected()}})
    return Status(200, [{"id": t.id, "title": t.title, "keywords": list(t.keywords)} for t in listed])


@router.get("/notices/consents", response={200: dict[str, int], 404: ErrorOut}, summary="Notices a follower still accepts, per template")
def notice_consents(request: HttpRequest, openid: OpenId, account: AppId | None = None):
    acct = token_account(request, account)
    if acct is None:
        return Status(404, no_account())
    return Status(200, notices.consents(acct, openid))


@router.post("/notices", response={201: NoticeOut, 200: NoticeOut, 400: FieldErrorOut, 404: ErrorOut}, summary="Send a subscription notice once (201), or answer the first send of its key (200)")
def post_notice(request: HttpRequest, body: NoticeIn):
    acct = token_account(request, body.account)
    if acct is None:
        return Status(404, no_account())
    known = NoticeSend.objects.filter(account=acct, key=body.key).first()
    if known is not None:
        return Status(200, _notice_out(known))
    try:
        with wechat_client(acct) as client:
            row = notices.send(
                acct, client, openid=body.openid, template_id=body.template_id,
                data=body.data, key=body.key, page=body.page,
            )
    except notices.NoticeError as exc:
        return Status(400, {"detail": _("Refused: nothing was sent."), "errors": exc.errors})
    except ValueError:
        return Status(400, {"detail": _("Refused: nothing was sent."), "errors": {"__all__": _not_connected()}})
    return Status(201, _notice_out(row))
