"""The console's channel-code and custom-menu pages, against the sandbox WeChat over HTTP:
what is made is on the platform, what the platform refuses is shown and nothing is kept."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.utils import timezone

from fencun.accounts.models import Account
from fencun.accounts.roles import grant
from fencun.audience.models import Follower, Tag
from fencun.audience.services import record_event
from fencun.campaigns.seeding import seed_account
from fencun.operations.models import Menu, QrChannel

pytestmark = pytest.mark.django_db

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@pytest.fixture
def box(make_sandbox, settings):
    box = make_sandbox(followers=5)
    settings.WECHAT = {**settings.WECHAT, "API_BASE": box.api_base}
    return box


@pytest.fixture
def shop(box, client):
    account = seed_account(box)
    user = User.objects.create_user("menu-operator", password="a-long-password-1")
    grant(user, account, "operator")
    client.force_login(user)
    return account


def _channel(client, **fields):
    form = {"name": "惠城店海报", "kind": "poster", "permanence": "permanent", "welcome": "欢迎到店",
            "tags": "海报，到店"}
    return client.post("/qr-channels/", {**form, **fields})


def _platform_menu(box) -> list[dict]:
    return box.platform.menu.default or []


# -- channel codes -----------------------------------------------------------------------


def test_a_channel_made_on_the_page_is_listed_with_its_code_and_figures(client, shop):
    r = _channel(client, scene="poster_huicheng")
    assert r.status_code == 302, r.content.decode()[:2000]
    channel = QrChannel.objects.get(account=shop)
    assert (channel.scene, channel.tag_names, channel.welcome) == ("poster_huicheng", ["海报", "到店"], "欢迎到店")
    assert channel.ticket and channel.url
    record_event(shop, kind="subscribe", openid="o-poster-1", occurred_at=timezone.now(),
                 payload={"scene_value": "poster_huicheng"}, source="test", dedup_key="qr-s1")
    record_event(shop, kind="order", openid="o-poster-1", occurred_at=timezone.now(),
                 payload={"amount": 2999}, source="test", dedup_key="qr-o1")
    page = client.get("/qr-channels/").content.decode()
    assert "惠城店海报" in page and f"/qr-channels/{channel.pk}/code.png" in page
    assert "100.0%" in page and "2,999.00 元" in page

    png = client.get(f"/qr-channels/{channel.pk}/code.png?download=1")
    assert png["Content-Type"] == "image/png" and png.content.startswith(PNG_SIGNATURE)
    assert png["Content-Disposition"].startswith("attachment")
    svg = client.get(f"/qr-channels/{channel.pk}/code.svg?download=1")
    assert svg["Content-Type"] == "image/svg+xml" and "惠城店海报" in svg.content.decode()
    assert "attachment" in svg["Content-Disposition"]


def test_a_temporary_code_is_marked_once_expired_and_a_channel_is_changed_and_archived(client, shop):
    assert _channel(client, name="周末活动", permanence="temporary", days="1").status_code == 302
    channel = QrChannel.objects.get(account=shop)
    QrChannel.objects.filter(pk=channel.pk).update(expires_at=timezone.now() - timezone.timedelta(hours=1))
    assert 'data-expired="1"' in client.get("/qr-channels/").content.decode()
    prefix = f"c{channel.pk}-"
    r = client.post(f"/qr-channels/{channel.pk}/", {"action": "save", prefix + "name": "周末活动",
                    prefix + "kind": "event", prefix + "welcome": "活动期间全场九折", prefix + "tags": "活动"})
    assert r.status_code == 302
    channel.refresh_from_db()
    assert (channel.kind, channel.welcome, channel.tag_names) == ("event", "活动期间全场九折", ["活动"])
    r = client.post(f"/qr-channels/{channel.pk}/", {"action": "save", prefix + "name": "x",
                    prefix + "kind": "event", prefix + "tags": ",".join(f"t{n}" for n in range(40))})
    assert r.status_code == 400 and "errorlist" in r.content.decode()
    channel.refresh_from_db()
    assert channel.name == "周末活动"
    client.post(f"/qr-channels/{channel.pk}/", {"action": "archive"})
    channel.refresh_from_db()
    assert channel.archived


def test_a_refusal_of_the_platform_is_shown_with_400_and_nothing_is_saved(client, shop, box):
    box.set_faults([{"path": "/cgi-bin/qrcode/create", "action": "error", "errcode": 48001}])
    r = _channel(client)
    assert r.status_code == 400 and "48001" in r.content.decode()
    assert not QrChannel.objects.exists()
    box.clear_faults()
    r = _channel(client, scene="bad scene!")
    assert r.status_code == 400 and not QrChannel.objects.exists()
    r = _channel(client, permanence="temporary")  # no days
    assert r.status_code == 400 and not QrChannel.objects.exists()


# -- menus -------------------------------------------------------------------------------


MENU = {
    "b0-name": "新品", "b0-type": "view", "b0-url": "https://shop.example.com/new",
    "b1-name": "门店", "b1-type": "group",
    "b1s0-name": "营业时间", "b1s0-type": "click", "b1s0-reply": "每天 10:00–21:00",
    "b1s1-name": "惠州店", "b1s1-type": "view", "b1s1-url": "https://shop.example.com/stores/huizhou",
    "kind": "default",
}


def test_a_too_long_name_is_refused_in_the_merchants_words_and_nothing_saved(client, shop):
    r = client.post("/menus/", {**MENU, "b0-name": "本周新品全场特惠"})  # 24 bytes
    page = r.content.decode()
    assert r.status_code == 400 and "本周新品全场特惠" in page and "16" in page
    assert not Menu.objects.exists()


def test_a_draft_is_saved_published_and_on_the_platform(client, shop, box):
    r = client.post("/menus/", MENU)
    assert r.status_code == 302, r.content.decode()[:3000]
    draft = Menu.objects.get(account=shop, status="draft")
    assert draft.buttons[1]["sub_button"][0] == {"type": "click", "name": "营业时间", "key": "menu_b1s0",
                                                 "reply": "每天 10:00–21:00"}
    page = client.get(r["Location"]).content.decode()
    assert 'name="menu"' in page and "营业时间" in page
    r = client.post(f"/menus/{draft.pk}/publish/")
    assert r.status_code == 200 and 'id="menu-notice"' in r.content.decode()
    draft.refresh_from_db()
    assert draft.status == "live"
    live = client.get("/menus/").content.decode()
    assert 'data-status="live"' in live and "惠州店" in live
    on_platform = _platform_menu(box)
    assert [b["name"] for b in on_platform] == ["新品", "门店"]
    assert "reply" not in on_platform[1]["sub_button"][0]  # fencun's own field stays here

    # The platform refuses the next one: shown, and the first menu stays live.
    client.post("/menus/", {**MENU, "b0-name": "上新"})
    second = Menu.objects.get(account=shop, status="draft")
    box.set_faults([{"path": "/cgi-bin/menu/create", "action": "error", "errcode": 40007}])
    r = client.post(f"/menus/{second.pk}/publish/")
    assert r.status_code == 400 and "40007" in r.content.decode()
    draft.refresh_from_db()
    second.refresh_from_db()
    assert (draft.status, second.status) == ("live", "draft")
    assert [b["name"] for b in _platform_menu(box)] == ["新品", "门店"]


def test_a_personalised_menu_names_its_tag_previews_and_is_withdrawn(client, shop, box):
    Tag.objects.create(account=shop, wechat_id=104, name="会员")
    client.post("/menus/", MENU)
    client.post(f"/menus/{Menu.objects.get(status='draft').pk}/publish/")
    r = client.post("/menus/", {**MENU, "kind": "personal", "tag_id": "104", "b0-name": "会员价"})
    assert r.status_code == 302
    personal = Menu.objects.get(status="draft", kind="personal")
    assert client.post(f"/menus/{personal.pk}/publish/").status_code == 200
    page = client.get("/menus/").content.decode()
    assert "会员" in page and f'action="/menus/{personal.pk}/withdraw/"' in page
    openid = Follower.objects.filter(account=shop).values_list("openid", flat=True).first()
    r = client.get("/menus/", {"openid": openid})
    assert r.status_code == 200 and 'id="menu-preview"' in r.content.decode()
    assert client.get("/menus/", {"openid": "o-nobody"}).status_code == 400
    assert client.post(f"/menus/{personal.pk}/withdraw/").status_code == 200
    personal.refresh_from_db()
    assert personal.status == "retired" and not box.platform.menu.conditional


def test_the_admin_panels_menu_is_imported_as_a_draft_with_its_notes(client, shop, box):
    box.set_panel_menu([
        {"type": "text", "name": "营业时间", "value": "每天 10:00–21:00"},
        {"type": "img", "name": "门店照片", "value": "temp-media-1"},
    ])
    r = client.post("/menus/import/")
    page = r.content.decode()
    assert r.status_code == 200 and 'id="menu-notice"' in page
    draft = Menu.objects.get(account=shop, status="draft", origin="panel")
    assert draft.notes == ["门店照片"] and 'data-notes="1"' in page and "门店照片" in page
    assert draft.buttons[0]["reply"] == "每天 10:00–21:00"


def test_a_fresh_account_starts_from_the_sandboxs_panel_menu(client, shop):
    r = client.post("/menus/import/")
    assert r.status_code == 200
    draft = Menu.objects.get(account=shop, origin="panel")
    assert [b["name"] for b in draft.buttons] == ["新品", "门店", "联系我们"]


def test_connecting_the_account_imports_the_panel_menu_once(client, make_sandbox, settings):
    box = make_sandbox(followers=1, app_secret="S" * 32)
    settings.WECHAT = {**settings.WECHAT, "API_BASE": box.api_base, "APP_ID": ""}
    client.force_login(User.objects.create_superuser("first-admin", password="a-long-password-1"))
    r = client.post("/setup/connect/", {"app_id": box.config.app_id, "account_type": "subscription",
                                        "app_secret": "S" * 32, "token": box.config.token})
    assert r.status_code == 302
    account = Account.objects.get()
    assert Menu.objects.filter(account=account, origin="panel", status="draft").count() == 1
    page = client.get("/setup/").content.decode()
    assert 'data-note="panel-menu"' in page and 'href="/menus/"' in page


def test_a_failed_import_does_not_fail_the_connection(client, make_sandbox, settings):
    box = make_sandbox(followers=1, app_secret="S" * 32)
    box.set_faults([{"path": "/cgi-bin/menu/get", "action": "error", "errcode": -1}])
    settings.WECHAT = {**settings.WECHAT, "API_BASE": box.api_base, "APP_ID": ""}
    client.force_login(User.objects.create_superuser("first-admin", password="a-long-password-1"))
    r = client.post("/setup/connect/", {"app_id": box.config.app_id, "account_type": "service",
                                        "app_secret": "S" * 32, "token": box.config.token})
    assert r.status_code == 302 and Account.objects.count() == 1 and not Menu.objects.exists()


def test_the_account_types_have_the_platforms_names(client, db, settings):
    settings.WECHAT = {**settings.WECHAT, "APP_ID": ""}
    client.force_login(User.objects.create_superuser("first-admin", password="a-long-password-1"))
    page = client.get("/setup/").content.decode()
    assert "公众号（原订阅号）" in page and "服务号" in page
    client.cookies["django_language"] = "en"
    assert "Official Account (formerly subscription account)" in client.get("/setup/").content.decode()


# -- roles -------------------------------------------------------------------------------


def test_an_analyst_reads_the_pages_but_cannot_change_anything(client, box):
    account = seed_account(box)
    user = User.objects.create_user("menu-analyst", password="a-long-password-1")
    grant(user, account, "analyst")
    client.force_login(user)
    assert client.get("/menus/").status_code == 200
    assert client.get("/qr-channels/").status_code == 200
    assert client.post("/menus/", MENU).status_code == 403
    assert client.post("/menus/import/").status_code == 403
    assert _channel(client).status_code == 403
    assert not Menu.objects.exists() and not QrChannel.objects.exists()
    assert _platform_menu(box) == []
