"""The console in real headless Chromium: log in, walk the pages, switch language; screenshots for the README."""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

import pytest

CHROMIUM = "/usr/bin/chromium"
# The README's screenshots; FENCUN_TEST_SCREENSHOTS sends them elsewhere (.ci/run does for
# the PostgreSQL pass, which runs beside the SQLite one and would write the same files).
SHOTS = Path(
    os.environ.get("FENCUN_TEST_SCREENSHOTS")
    or Path(__file__).resolve().parents[2] / "docs" / "screenshots"
)

if not os.path.exists(CHROMIUM) and os.environ.get("CI") != "true":
    pytest.skip(f"{CHROMIUM} is absent (install Debian's chromium; CI does)", allow_module_level=True)

# Playwright's sync API runs an event loop in this thread; the test database calls are synchronous.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

from playwright.sync_api import sync_playwright  # noqa: E402


@pytest.fixture
def browser_page():
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=[
            "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
            "--disable-component-update", "--disable-sync", "--no-first-run",
        ])
        # A shop owner in China: the browser asks for Chinese, as the console defaults to.
        page = browser.new_page(viewport={"width": 1280, "height": 800}, locale="zh-CN")
        external: list[str] = []
        page.on("request", lambda r: external.append(r.url) if not r.url.startswith(("http://localhost", "data:")) else None)
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        yield page, external
        assert errors == [], f"script errors on the console: {errors}"
        browser.close()


def _daily_figures(account):
    """A month of rolled-up figures so the overview's charts have something to draw."""
    import random

    from django.utils import timezone

    from fencun.audience import kinds
    from fencun.insights.models import DailyCount
    from fencun.insights.rollups import HOLDOUT_KIND

    rng = random.Random(6)
    today = timezone.localdate()
    rows = []
    for i in range(30):
        day = today - timedelta(days=i)
        for kind, lo, hi in ((kinds.SUBSCRIBE, 20, 60), (kinds.UNSUBSCRIBE, 2, 15),
                             (kinds.DELIVERY, 0, 900), (HOLDOUT_KIND, 0, 100)):
            rows.append(DailyCount(account=account, day=day, kind=kind, count=rng.randint(lo, hi)))
    DailyCount.objects.bulk_create(rows)


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_log_in_walk_the_console_and_switch_language(live_server, browser_page, make_account):
    from django.contrib.auth.models import User
    from django.utils import timezone

    from fencun.accounts.roles import grant
    from fencun.audience.models import Event, Follower, Store

    page, external = browser_page
    account = make_account()
    Store.objects.create(account=account, name="惠阳店", address="惠州市惠阳区", lat=22.79, lng=114.46)
    Store.objects.create(account=account, name="江北店", address="惠州市惠城区", lat=23.11, lng=114.41)
    f = Follower.objects.create(account=account, openid="oDemoFollower0001", subscribed=True, lat=23.0, lng=114.43)
    Event.objects.create(account=account, follower=f, openid=f.openid, kind="subscribe",
                         occurred_at=timezone.now(), source="callback", dedup_key="b-1")
    _daily_figures(account)
    from fencun.audience.services import record_event
    from fencun.campaigns.services import create_campaign, update_rules
    from fencun.catalog.models import Category

    sofa = Category.objects.create(account=account, key="sofa", name="沙发", large_item=True)
    create_campaign(account, name="双十一沙发", category=sofa,
                    title="双十一沙发特惠", body="黄山路店沙发八折，到店看样。")
    # Twenty followers asked about sofas; no control group or holdout: the plan reaches
    # some of them whatever its draws.
    for n in range(20):
        record_event(account, kind="subscribe", openid=f"oAsked{n:04d}", occurred_at=timezone.now(),
                     payload={}, source="test", dedup_key=f"b-sub-{n}")
        record_event(account, kind="text", openid=f"oAsked{n:04d}", occurred_at=timezone.now(),
                     payload={"content": "沙发有货吗"}, source="test", dedup_key=f"b-sofa-{n}")
    update_rules(account, control_fraction=0.0, holdout_fraction=0.0, follower_value_yuan=0.0)
    grant(User.objects.create_user("owner", password="a-long-password-1"), account, "owner")
    SHOTS.mkdir(parents=True, exist_ok=True)

    page.goto(live_server.url + "/followers/")
    assert "/accounts/login/" in page.url  # no page without login
    page.fill("input[name=username]", "owner")
    page.fill("input[name=password]", "a-long-password-1")
    page.click("button[type=submit]")
    page.wait_for_url(live_server.url + "/followers/")
    assert page.locator("h1").inner_text() == "粉丝"

    page.goto(live_server.url + "/")
    assert page.locator("h1").inner_text() == "概览"
    page.wait_for_function("document.querySelector('#c-pressure canvas') !== null")
    page.wait_for_timeout(600)  # ECharts draws over a few frames
    legend = page.evaluate(
        "echarts.getInstanceByDom(document.getElementById('c-growth')).getOption().legend[0].data"
    )
    assert legend == ["净增长（粉丝）", "取关率（%）"]
    page.screenshot(path=str(SHOTS / "overview.png"), full_page=True)

    page.goto(live_server.url + "/followers/")
    page.screenshot(path=str(SHOTS / "followers.png"), full_page=True)
    page.click("text=oDemoFollower0001")
    page.wait_for_function("document.querySelector('#c-location canvas') !== null")
    assert "km" in page.locator("dl.facts").inner_text()
    page.wait_for_timeout(600)
    page.screenshot(path=str(SHOTS / "follower.png"), full_page=True)

    # Writing a campaign: the lint and the audience's size answer while typing.
    page.goto(live_server.url + "/campaigns/new/")
    page.fill("textarea[name=segment]", "has:location")
    page.wait_for_function("document.getElementById('audience-live').textContent.includes('/')")
    page.fill("input[name=title]", "全网最低价沙发")
    page.wait_for_selector("#lint-live li.error")
    page.screenshot(path=str(SHOTS / "campaign-new.png"), full_page=True)

    page.goto(live_server.url + "/campaigns/")
    page.click("text=双十一沙发")
    page.check("input[name=acknowledge]")
    page.click("text=1. 检查内容")
    page.wait_for_load_state("load")
    # Planned for tomorrow at ten: outside the quiet hours whenever the test runs.
    tomorrow = (timezone.localtime() + timedelta(days=1)).strftime("%Y-%m-%dT10:00")
    page.fill("input[name=send_at]", tomorrow)
    page.click("text=2. 预演")
    page.wait_for_selector("text=预演计划")
    page.screenshot(path=str(SHOTS / "campaign-dry-run.png"), full_page=True)
    page.click("text=3. 批准")
    page.wait_for_load_state("load")
    assert page.locator("p.error").count() == 0
    page.click("a.button:text-is('活动报告')")
    assert "活动报告" in page.locator("h1").inner_text()
    page.screenshot(path=str(SHOTS / "campaign-report.png"), full_page=True)

    page.goto(live_server.url + "/rules/")
    assert page.locator("h1").inner_text() == "推送规则"
    page.screenshot(path=str(SHOTS / "rules.png"), full_page=True)

    page.goto(live_server.url + "/stores/")
    assert page.locator("text=惠阳店").count() == 1
    page.screenshot(path=str(SHOTS / "stores.png"), full_page=True)

    page.select_option("select[name=language]", "en")
    page.wait_for_load_state("load")
    page.wait_for_selector("h1:text-is('Stores')")
    page.goto(live_server.url + "/")
    assert page.locator("h1").inner_text() == "Overview"
    page.wait_for_function("document.querySelector('#c-pressure canvas') !== null")
    page.screenshot(path=str(SHOTS / "overview-en.png"), full_page=True)

    page.set_viewport_size({"width": 390, "height": 844})  # a phone
    page.goto(live_server.url + "/followers/")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390 + 1
    page.screenshot(path=str(SHOTS / "followers-phone.png"), full_page=True)

    assert external == [], f"the console loaded something external: {external}"


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_on_a_phone_the_menu_folds_behind_one_button(live_server, browser_page, make_account):
    from django.contrib.auth.models import User

    from fencun.accounts.roles import grant

    page, _ = browser_page
    page.set_viewport_size({"width": 390, "height": 844})
    grant(User.objects.create_user("phone", password="a-long-password-1"), make_account(), "owner")
    page.goto(live_server.url + "/")
    page.fill("input[name=username]", "phone")
    page.fill("input[name=password]", "a-long-password-1")
    page.click("button[type=submit]")
    page.wait_for_selector("h1:text-is('概览')")
    nav = page.locator("#console-nav")
    assert not nav.is_visible()
    header = page.locator("header.top").bounding_box()
    assert header is not None and header["height"] < 120  # one line, not nine
    page.click("button.menu-toggle")
    assert nav.is_visible() and page.locator("button.menu-toggle").get_attribute("aria-expanded") == "true"
    page.click("#console-nav >> text=营销活动")
    page.wait_for_selector("h1:text-is('营销活动')")
    page.screenshot(path=str(SHOTS / "phone-campaigns.png"), full_page=True)


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_on_a_phone_the_account_is_connected_and_campaigns_are_deleted_and_archived(
    live_server, browser_page, settings
):
    from django.contrib.auth.models import User

    from fencun.accounts.models import Account
    from fencun.campaigns.models import Campaign
    from fencun.campaigns.services import create_campaign
    from fencun.catalog.models import Category

    settings.WECHAT = {**settings.WECHAT, "APP_ID": ""}  # set up in the console, not the environment
    page, external = browser_page
    page.set_viewport_size({"width": 390, "height": 844})
    page.on("dialog", lambda d: d.accept())  # the console asks before deleting
    User.objects.create_superuser("first-admin", password="a-long-password-1")
    page.goto(live_server.url + "/setup/")
    page.fill("input[name=username]", "first-admin")
    page.fill("input[name=password]", "a-long-password-1")
    page.click("button[type=submit]")
    page.wait_for_selector("text=还没有接入公众号")
    page.fill("input[name=app_id]", "wx00000000000000ab")
    page.select_option("select[name=account_type]", "service")
    page.fill("input[name=app_secret]", "S" * 32)
    page.fill("input[name=token]", "ab")  # too short: said beside the field, nothing stored
    page.fill("input[name=aes_key]", "k" * 43)
    page.click("button:text-is('连接')")
    page.wait_for_selector("text=Token 由 3 到 32 位字母或数字组成")
    assert not Account.objects.exists()
    page.fill("input[name=app_secret]", "S" * 32)
    page.fill("input[name=token]", "shopToken42")
    page.fill("input[name=aes_key]", "k" * 43)
    page.click("button:text-is('连接')")
    page.wait_for_selector("li[data-step=connect].done")
    account = Account.objects.get()
    assert (account.app_id, account.mode, account.token) == ("wx00000000000000ab", "safe", "shopToken42")
    page.screenshot(path=str(SHOTS / "phone-setup.png"), full_page=True)

    sofa = Category.objects.create(account=account, key="sofa", name="沙发")
    draft = create_campaign(account, name="写错的草稿", category=sofa, body="到店有礼")
    done = create_campaign(account, name="上月的沙发活动", category=sofa, body="到店有礼")
    Campaign.objects.filter(pk=done.pk).update(status=Campaign.Status.DONE)
    page.goto(f"{live_server.url}/campaigns/{draft.pk}/")
    page.click("button:text-is('删除')")
    page.wait_for_selector("h1:text-is('营销活动')")
    assert not Campaign.objects.filter(pk=draft.pk).exists()
    page.goto(f"{live_server.url}/campaigns/{done.pk}/")
    page.click("button:text-is('归档')")
    page.wait_for_selector("text=已归档：这个活动不在活动列表中")
    page.goto(live_server.url + "/campaigns/")
    assert "上月的沙发活动" not in page.content()
    page.click("a[data-figure=archived-link]")
    page.wait_for_selector("h1:text-is('已归档的活动')")
    assert "上月的沙发活动" in page.content()
    assert external == [], f"the console loaded something from outside: {external}"


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_the_menu_and_channel_code_pages_run_without_console_errors(live_server, browser_page, make_account):
    from django.contrib.auth.models import User

    from fencun.accounts.roles import grant
    from fencun.audience.models import Tag
    from fencun.operations.models import Menu, QrChannel

    page, external = browser_page
    console_errors: list[str] = []
    page.on("console", lambda m: console_errors.append(m.text) if m.type == "error" else None)
    account = make_account()
    Tag.objects.create(account=account, wechat_id=104, name="会员")
    QrChannel.objects.create(account=account, name="惠阳店门口", kind="store", scene="store_huiyang",
                             ticket="t-1", url="http://weixin.qq.com/q/sandbox-store-huiyang")
    Menu.objects.create(account=account, status=Menu.Status.LIVE, buttons=[
        {"type": "view", "name": "新品", "url": "https://shop.example.com/new"}])
    Menu.objects.create(account=account, origin=Menu.Origin.PANEL, notes=["门店照片"], buttons=[
        {"name": "门店", "sub_button": [{"type": "click", "name": "营业时间", "key": "k1", "reply": "每天 10:00–21:00"}]}])
    grant(User.objects.create_user("menus", password="a-long-password-1"), account, "operator")
    page.goto(live_server.url + "/menus/")
    page.fill("input[name=username]", "menus")
    page.fill("input[name=password]", "a-long-password-1")
    page.click("button[type=submit]")
    page.wait_for_selector("h1:text-is('自定义菜单')")
    assert page.locator("[data-notes] li").inner_text() == "门店照片"
    # The editor opens on the draft: its one slot shown, its group's sub-button with it.
    assert page.locator("fieldset.menu-slot:visible").count() == 1
    assert page.locator("fieldset.menu-sub:visible").count() == 1
    page.click("button.menu-add")
    name = page.locator("input[name='b1-name']")
    name.fill("本周新品全场特惠")  # 8 Chinese characters: 24 bytes, over 16
    assert "24 / 16" in page.locator("fieldset.menu-slot:visible .bytes.error").nth(0).inner_text()
    page.select_option("select[name='b1-type']", "view")
    assert page.locator("input[name='b1-url']").is_visible()
    assert not page.locator("input[name='b1-key']").is_visible()

    page.goto(live_server.url + "/qr-channels/")
    page.wait_for_selector("h1:text-is('渠道码')")
    # The code is drawn by the server on request: wait for the image, not only the page.
    page.wait_for_function("document.querySelector('table.channels img').complete")
    assert page.evaluate("document.querySelector('table.channels img').naturalWidth") > 0
    assert console_errors == [], f"console errors: {console_errors}"
    assert external == [], f"the console loaded something external: {external}"
