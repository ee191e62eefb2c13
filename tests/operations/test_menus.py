"""The custom menu: drafts checked as the platform checks them, published all or nothing,
personalised by tag, imported from the platform or the admin panel."""

from __future__ import annotations

import pytest

from fencun import clock
from fencun.audience import kinds
from fencun.gateway.normalize import Incoming
from fencun.gateway.replies import choose, forget_cached_rules
from fencun.operations import menus
from fencun.operations.models import Menu

pytestmark = pytest.mark.django_db

SHOP = [
    {"type": "view", "name": "商城", "url": "https://shop.example.com/"},
    {"name": "门店", "sub_button": [
        {"type": "click", "name": "营业时间", "key": "hours", "reply": "每天 9:00-21:00"},
        {"type": "location_select", "name": "发位置找门店", "key": "nearest"},
    ]},
    {"type": "click", "name": "沙发新品", "key": "sofa_new"},
]


def test_a_draft_the_platform_would_refuse_is_not_saved(connected):
    account, _, _ = connected
    too_long = [{"type": "click", "name": "这个按钮的名字太长了", "key": "k"}]
    with pytest.raises(menus.MenuError) as refused:
        menus.save_draft(account, too_long)
    assert any("这个按钮的名字太长了" in m for m in refused.value.messages)
    four = [{"type": "click", "name": f"b{i}", "key": f"k{i}"} for i in range(4)]
    with pytest.raises(menus.MenuError):
        menus.save_draft(account, four)
    with pytest.raises(menus.MenuError):
        menus.save_draft(account, [{"type": "view", "name": "x", "url": "https://a/", "reply": "hi"}])
    assert not Menu.objects.exists()


def test_a_published_menu_goes_live_without_fencuns_own_fields(connected):
    account, client, _ = connected
    draft = menus.save_draft(account, SHOP)
    menus.publish(draft, client)
    draft.refresh_from_db()
    assert draft.status == Menu.Status.LIVE and draft.published_at is not None
    live = client.get_menu()["menu"]["button"]
    assert [b["name"] for b in live] == ["商城", "门店", "沙发新品"]
    assert "reply" not in live[1]["sub_button"][0]
    # The click button fencun answers, answered as soon as the menu is live.
    forget_cached_rules()
    click = Incoming(kinds.CLICK, "o_1", clock.now(), {"key": "hours"}, "k", "gh")
    assert choose(account.pk, click).content == "每天 9:00-21:00"


def test_a_refused_menu_leaves_the_live_one_live(connected):
    account, client, box = connected
    first = menus.publish(menus.save_draft(account, SHOP), client)
    second = menus.save_draft(account, SHOP[:1])
    box.platform.faults.append(_fault("/cgi-bin/menu/create", 40017))
    with pytest.raises(menus.MenuError) as refused:
        menus.publish(second, client)
    assert refused.value.errcode == 40017
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.status, second.status) == (Menu.Status.LIVE, Menu.Status.DRAFT)
    assert len(client.get_menu()["menu"]["button"]) == 3


def _fault(path, errcode):
    from fencun.sandbox.wechat.state import FaultRule

    return FaultRule(path=path, errcode=errcode, times=1)


def test_a_tags_menu_needs_the_default_first_and_replaces_its_predecessor(connected):
    account, client, _ = connected
    vip = client.create_tag("VIP")
    personal = menus.save_draft(account, SHOP[:2], kind="personal", tag_id=vip.id)
    with pytest.raises(menus.MenuError) as refused:
        menus.publish(personal, client)
    assert refused.value.errcode == 65303
    assert Menu.objects.get(pk=personal.pk).status == Menu.Status.DRAFT
    menus.publish(menus.save_draft(account, SHOP), client)
    menus.publish(personal, client)
    personal.refresh_from_db()
    assert personal.menuid
    newer = menus.publish(menus.save_draft(account, SHOP[2:], kind="personal", tag_id=vip.id), client)
    on_platform = client.get_menu()["conditionalmenu"]
    assert [str(m["menuid"]) for m in on_platform] == [newer.menuid]
    assert Menu.objects.get(pk=personal.pk).status == Menu.Status.RETIRED
    # A follower with the tag sees the tag's menu; others the default.
    openid, other = client.get_followers().openids[:2]
    client.tag_followers(vip.id, [openid])
    assert [b["name"] for b in menus.preview_for(client, openid)] == ["沙发新品"]
    assert len(menus.preview_for(client, other)) == 3
    menus.withdraw(newer, client)
    assert not client.get_menu().get("conditionalmenu")
    assert len(menus.preview_for(client, openid)) == 3


def test_a_personal_menu_with_no_rule_is_refused(connected):
    account, _, _ = connected
    with pytest.raises(menus.MenuError):
        menus.save_draft(account, SHOP, kind="personal")


def test_the_admin_panels_menu_is_imported_as_a_draft_to_publish(connected):
    account, client, box = connected
    found = menus.import_menus(account, client)
    assert not found.live and found.panel_draft is not None
    draft = found.panel_draft
    assert draft.origin == Menu.Origin.PANEL and draft.status == Menu.Status.DRAFT
    assert menus.problems(draft.buttons) == [] and draft.notes == []
    # Text buttons became buttons fencun answers.
    assert any(b.get("reply") for b in _leaves(draft.buttons))
    menus.publish(draft, client)
    again = menus.import_menus(account, client)
    assert [m.kind for m in again.live] == [Menu.Kind.DEFAULT] and again.panel_draft is None
    assert Menu.objects.get(pk=draft.pk).status == Menu.Status.RETIRED


def _leaves(buttons):
    for b in buttons:
        yield from (b.get("sub_button") or [b])


def test_panel_buttons_are_carried_over_as_the_api_can():
    buttons, notes = menus.from_panel([
        {"type": "text", "name": "营业时间", "value": "9-21"},
        {"name": "更多", "sub_button": {"list": [
            {"type": "news", "name": "新品", "value": "MEDIA1", "news_info": {"list": []}},
            {"type": "img", "name": "海报", "value": "TMP"},
            {"type": "video", "name": "视频", "value": "https://v.example.com/1"},
            {"type": "view", "name": "商城", "url": "https://shop.example.com/"},
        ]}},
    ])
    assert buttons[0]["type"] == "click" and buttons[0]["reply"] == "9-21"
    subs = buttons[1]["sub_button"]
    assert [s["type"] for s in subs] == ["media_id", "click", "view", "view"]
    assert subs[0]["media_id"] == "MEDIA1" and subs[3]["url"] == "https://shop.example.com/"
    assert notes == ["海报"]
