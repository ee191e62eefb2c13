"""Journeys in the product: saved only when they can run, entered once from the event log,
each due step an engine plan delivered exactly once through the outbox and the sandbox."""

from __future__ import annotations

import json
import uuid
from collections import Counter
from datetime import timedelta

import pytest
from django.utils import timezone, translation

from fencun.api.models import ApiToken
from fencun.audience.services import NewEvent, record_events
from fencun.campaigns import delivery
from fencun.campaigns import journeys as J
from fencun.campaigns.models import Campaign, Journey, JourneyEntry, OutboxItem
from fencun.campaigns.seeding import seed_account
from fencun.campaigns.services import campaigns_of, update_rules
from fencun.catalog.models import Category, Product
from fencun.channels.services import wechat_client

pytestmark = pytest.mark.django_db
LEFT = JourneyEntry.Left
ASK = "沙发多少钱？"


def welcome(**over) -> dict:
    """Scan store42's code: a welcome now, another two days later; an order ends it."""
    return {
        "trigger": {"kind": "subscribe", "scene": "store42"},
        "steps": [
            {"send": {"title": "欢迎光临", "body": "新款沙发到店，欢迎来看看。", "category": "sofa",
                      "products": ["SOFA-1"]}},
            {"wait_days": 2},
            {"send": {"title": "沙发优惠", "body": "本周沙发九折。", "category": "sofa", "products": []}},
        ],
        "exit": {"on_order": True},
        **over,
    }


def _box(make_sandbox, followers: int):
    return make_sandbox(account_type="service", followers=followers, retry_too_fast_seconds=0,
                        app_id=f"wx{uuid.uuid4().hex[:16]}")


def _account(box):
    account = seed_account(box)
    Product.objects.create(account=account, category=Category.objects.get(account=account, key="sofa"),
                           sku="SOFA-1", name="布艺沙发", price=2999)
    return account


def _openids(box) -> list[str]:
    with box.platform.lock:
        return box.platform.population.page(0, box.platform.population.size)


def _subscribe(box, account, openids, scene="store42", at=None, tag="s"):
    """They scan the code and ask about sofas: on the platform and in the log (their
    48-hour window opens, and they show an interest the engine can weigh)."""
    at = at or timezone.now()
    box.post_events([{"kind": "subscribe", "openid": o, "at": at.isoformat(), "scene_value": scene}
                     for o in openids])
    box.post_events([{"kind": "text", "openid": o, "at": at.isoformat(), "content": ASK} for o in openids])
    record_events(account, [
        NewEvent("subscribe", o, at, {"scene": "ADD_SCENE_QR_CODE", "scene_value": scene}, "test",
                 f"{tag}:{scene}:{o}")
        for o in openids
    ] + [NewEvent("text", o, at, {"content": ASK}, "test", f"{tag}:ask:{o}") for o in openids])


def _drain(box):
    factory = lambda account: wechat_client(account, api_base=box.api_base, backoff=0.0, timeout=5.0)  # noqa: E731
    for _ in range(10):
        delivery.run_scheduler("sched")
        delivery.work("w", client_factory=factory)
        OutboxItem.objects.filter(status="pending").update(not_before=None)
        if not delivery.has_work():
            break


def _live(account, definition=None) -> Journey:
    return J.start(J.create_journey(account, name="进店欢迎", definition=definition or welcome()))


# ----- saving --------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("change", "words"),
    [
        ({"steps": [{"send": {"title": "x", "category": "lamps"}}]}, "category lamps"),
        ({"steps": [{"send": {"title": "x", "category": "sofa", "products": ["GONE-1"]}}]}, "product GONE-1"),
        ({"trigger": {"kind": "keyword", "keyword": " "}}, "fire on every text"),
        ({"steps": [{"wait_days": 3}]}, "at least one send step"),
        ({"trigger": {"kind": "birthday"}}, "trigger.kind must be one of"),
        ({"trigger": {"kind": "subscribe", "scene": "a\x00b"}}, "NUL"),
    ],
)
def test_save_refuses_a_journey_that_cannot_run_and_saves_nothing(make_account, change, words):
    account = make_account()
    sofa = Category.objects.create(account=account, key="sofa", name="沙发")
    Product.objects.create(account=account, category=sofa, sku="SOFA-1", name="布艺沙发", price=2999)
    with translation.override("en"), pytest.raises(J.JourneyRefused, match=words):
        J.create_journey(account, name="j", definition=welcome(**change))
    assert not Journey.objects.exists()


def test_a_name_that_cannot_be_stored_is_refused(make_account):
    account = make_account()
    for name in ("", "a\x00b", "x" * 201):
        with pytest.raises(J.JourneyRefused):
            J.create_journey(account, name=name, definition=welcome())
    assert not Journey.objects.exists()


def test_a_refusal_speaks_the_merchants_language(make_account):
    account = make_account()
    with translation.override("zh-hans"), pytest.raises(J.JourneyRefused) as caught:
        J.create_journey(account, name="j", definition=welcome(steps=[{"wait_days": 1}]))
    assert "发送" in str(caught.value)


def test_an_edit_refused_keeps_the_journey_as_it_was(make_sandbox):
    box = _box(make_sandbox, 2)
    journey = _live(_account(box))
    with pytest.raises(J.JourneyRefused):
        J.update_journey(journey, definition=welcome(steps=[{"wait_days": 1}]))
    journey.refresh_from_db()
    assert journey.version == 1 and journey.definition["steps"][0]["send"]["products"][0]["price"] == 2999


# ----- entering ------------------------------------------------------------------------------
def test_a_subscribe_through_the_scene_enters_once(make_sandbox):
    box = _box(make_sandbox, 4)
    account = _account(box)
    journey = _live(account)
    a, b, c, _d = _openids(box)
    _subscribe(box, account, [a, b])
    _subscribe(box, account, [c], scene="store7")  # another code: not this journey
    assert J.entry_pass(account).entered == 2
    _subscribe(box, account, [a], tag="again")  # scanned again: still one entry
    J.entry_pass(account)
    J.entry_pass(account)  # the overlap re-read changes nothing
    entries = JourneyEntry.objects.filter(journey=journey)
    assert sorted(entries.values_list("openid", flat=True)) == sorted([a, b])
    assert set(entries.values_list("step", flat=True)) == {0}


def test_a_paused_journey_enters_nobody_and_sends_nothing(make_sandbox):
    box = _box(make_sandbox, 3)
    account = _account(box)
    journey = _live(account)
    a, b, c = _openids(box)
    _subscribe(box, account, [a])
    J.entry_pass(account)
    J.pause(journey)
    _subscribe(box, account, [b])
    assert J.entry_pass(account).entered == 0
    assert J.send_due_steps(account).campaigns == []
    J.resume(journey)
    assert J.entry_pass(account).entered == 0  # the pause's subscribers stay out
    _subscribe(box, account, [c])
    assert J.entry_pass(account).entered == 1
    assert set(JourneyEntry.objects.values_list("openid", flat=True)) == {a, c}


def test_a_draft_journey_enters_nobody(make_sandbox):
    box = _box(make_sandbox, 1)
    account = _account(box)
    J.create_journey(account, name="j", definition=welcome())
    _subscribe(box, account, _openids(box))
    assert J.entry_pass(account).entered == 0


# ----- sending -------------------------------------------------------------------------------
def test_a_due_step_is_a_plan_of_the_due_followers_delivered_once(make_sandbox):
    box = _box(make_sandbox, 6)
    account = _account(box)
    journey = _live(account)
    inside, outside = _openids(box)[:4], _openids(box)[4:]
    _subscribe(box, account, inside)
    # One of them refused marketing: the engine holds them back, with the reason.
    quitter = inside[0]
    record_events(account, [NewEvent("text", quitter, timezone.now(), {"content": "退订"}, "test", "td")])
    J.entry_pass(account)
    step = J.send_due_steps(account)
    (campaign,) = step.campaigns
    assert step.moved == 4
    assert (campaign.journey_id, campaign.journey_step) == (journey.pk, 0)
    # Subscribed a moment ago, their window is open: the step goes by customer service.
    assert campaign.channel == Campaign.Channel.CUSTOMER_SERVICE
    plan = campaign.plans.get()
    # The engine decides each (it may find a push not worth it for some); the quitter, never.
    assert plan.audience == 4 and plan.held_back["opted_out"] == 1
    assert plan.reach + sum(plan.held_back.values()) == 4 and plan.reach >= 1
    assert set(plan.recipients) <= set(inside[1:])
    assert J.send_due_steps(account).campaigns == []  # nobody is due twice
    assert not campaigns_of(account).exists()  # the journey's, not in the list of campaigns
    _drain(box)
    _drain(box)
    box.flush()
    delivered = Counter(d["openid"] for d in box.deliveries(kind="custom"))
    assert delivered == Counter(plan.recipients), "each chosen follower once, nobody else"
    assert not set(delivered) & set(outside)
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.DONE
    # Everyone due moved on to the next send, two days on; the held back skipped the step.
    entries = JourneyEntry.objects.filter(journey=journey)
    assert set(entries.values_list("step", flat=True)) == {2}
    due = {e.due_at for e in entries}
    assert len(due) == 1 and due.pop() > timezone.now() + timedelta(days=1, hours=23)
    steps = J.step_counts(journey)
    assert (steps[0]["sent"], steps[0]["held_back"], steps[2]["waiting"]) == (plan.reach, 4 - plan.reach, 4)


def test_outside_their_window_the_step_goes_by_mass_send_once(make_sandbox):
    box = _box(make_sandbox, 5)
    account = _account(box)
    journey = _live(account)
    who = _openids(box)[:3]
    now = timezone.now()
    # They asked about sofas three days ago (their 48 hours are over), and scan the code now.
    record_events(account, [NewEvent("text", o, now - timedelta(days=3), {"content": ASK}, "test", f"a:{o}")
                            for o in who])
    record_events(account, [NewEvent("subscribe", o, now, {"scene_value": "store42"}, "test", f"s:{o}")
                            for o in who])
    entered, approved = J.run_all(now)
    assert (entered, approved) == (3, 1)
    campaign = Campaign.objects.get(journey=journey)
    assert campaign.channel == Campaign.Channel.MASS
    plan = campaign.plans.get()
    assert plan.audience == 3 and plan.reach + sum(plan.held_back.values()) == 3 and plan.reach >= 2
    _drain(box)
    box.flush()
    delivered = Counter(d["openid"] for d in box.deliveries(kind="mass"))
    assert delivered == Counter(plan.recipients)
    assert J.run_all(now + timedelta(minutes=1)) == (0, 0)


def test_a_lone_mass_recipient_of_a_service_account_waits_for_company_a_while(make_sandbox):
    box = _box(make_sandbox, 1)
    account = _account(box)
    _live(account)
    (who,) = _openids(box)
    now = timezone.now()  # outside their window: a mass send, and an openid list needs two
    record_events(account, [NewEvent("subscribe", who, now, {"scene_value": "store42"}, "test", "s1")])
    J.entry_pass(account, now)
    assert J.send_due_steps(account, now + timedelta(hours=1)).campaigns == []
    (campaign,) = J.send_due_steps(account, now + J.LONE_WAIT + timedelta(minutes=1)).campaigns
    assert campaign.channel == Campaign.Channel.MASS


def test_in_the_quiet_hours_due_steps_wait(make_sandbox):
    box = _box(make_sandbox, 2)
    account = _account(box)
    _live(account)
    _subscribe(box, account, _openids(box))
    J.entry_pass(account)
    now = timezone.localtime()
    update_rules(account, quiet_start=(now - timedelta(hours=1)).strftime("%H:%M"),
                 quiet_end=(now + timedelta(hours=1)).strftime("%H:%M"))
    assert J.send_due_steps(account).campaigns == []
    assert set(JourneyEntry.objects.values_list("step", flat=True)) == {0}  # still due, not skipped
    assert len(J.send_due_steps(account, timezone.now() + timedelta(hours=2)).campaigns) == 1


def test_a_pass_that_dies_midway_leaves_nothing_and_the_next_sends_once(make_sandbox, monkeypatch):
    box = _box(make_sandbox, 3)
    account = _account(box)
    journey = _live(account)
    _subscribe(box, account, _openids(box))
    J.entry_pass(account)
    real = J._move_on

    def dies(*args, **kwargs):
        raise RuntimeError("killed after the approval, before moving on")

    monkeypatch.setattr(J, "_move_on", dies)
    with pytest.raises(RuntimeError):
        J.send_due_steps(account)
    # The plan, the approval and its outbox rows went with the moving on: nothing half-done.
    assert not Campaign.objects.exists() and not OutboxItem.objects.exists()
    assert set(JourneyEntry.objects.values_list("step", flat=True)) == {0}
    monkeypatch.setattr(J, "_move_on", real)
    (campaign,) = J.send_due_steps(account).campaigns
    _drain(box)
    box.flush()
    delivered = Counter(d["openid"] for d in box.deliveries())
    assert delivered and delivered == Counter(campaign.plans.get().recipients) and max(delivered.values()) == 1
    assert J.step_counts(journey)[0]["sent"] == len(delivered)


def test_the_last_step_finishes_the_journey(make_sandbox):
    box = _box(make_sandbox, 3)
    account = _account(box)
    journey = _live(account, welcome(steps=welcome()["steps"][:1]))
    _subscribe(box, account, _openids(box))
    J.entry_pass(account)
    J.send_due_steps(account)
    assert set(JourneyEntry.objects.filter(journey=journey).values_list("left_reason", flat=True)) == {LEFT.FINISHED}


def test_an_order_leaves_the_journey_when_exit_on_order(make_sandbox):
    box = _box(make_sandbox, 2)
    account = _account(box)
    journey = _live(account)
    buyer, other = _openids(box)
    _subscribe(box, account, [buyer, other])
    J.entry_pass(account)
    later = timezone.now() + timedelta(minutes=5)
    record_events(account, [NewEvent("order", buyer, later, {"amount": 2999, "product": "SOFA-1"}, "test", "o1")])
    J.entry_pass(account)
    left = JourneyEntry.objects.get(journey=journey, openid=buyer)
    assert left.left_reason == LEFT.GOAL and left.due_at is None
    assert J.counts(journey)["converted"] == 1
    (campaign,) = J.send_due_steps(account).campaigns
    assert campaign.plans.get().audience == 1


def test_an_order_trigger_does_not_end_the_journey_it_started(make_sandbox):
    box = _box(make_sandbox, 1)
    account = _account(box)
    journey = _live(account, welcome(trigger={"kind": "order"}))
    (buyer,) = _openids(box)
    record_events(account, [NewEvent("order", buyer, timezone.now(), {"amount": 9}, "test", "o1")])
    J.entry_pass(account)
    J.entry_pass(account)  # re-read: still inside
    entry = JourneyEntry.objects.get(journey=journey)
    assert entry.left_at is None


def test_an_unfollow_leaves(make_sandbox):
    box = _box(make_sandbox, 1)
    account = _account(box)
    journey = _live(account)
    (who,) = _openids(box)
    _subscribe(box, account, [who])
    J.entry_pass(account)
    record_events(account, [NewEvent("unsubscribe", who, timezone.now(), {}, "test", "u1")])
    J.entry_pass(account)
    assert JourneyEntry.objects.get(journey=journey).left_reason == LEFT.UNFOLLOWED


def test_editing_a_live_journey_never_sends_a_removed_step(make_sandbox):
    box = _box(make_sandbox, 4)
    account = _account(box)
    journey = _live(account)
    early, late = _openids(box)[:2], _openids(box)[2:]
    _subscribe(box, account, early)
    J.entry_pass(account)
    J.send_due_steps(account)  # the early ones now wait for step 2
    _subscribe(box, account, late, tag="late")
    J.entry_pass(account)  # the late ones wait at step 0
    first = welcome()["steps"][0]
    J.update_journey(journey, definition=welcome(steps=[first]))  # step 2 removed
    journey.refresh_from_db()
    assert journey.version == 2
    entries = {e.openid: e for e in JourneyEntry.objects.filter(journey=journey)}
    assert {entries[o].left_reason for o in early} == {LEFT.EDITED}
    assert {(entries[o].left_at, entries[o].version) for o in late} == {(None, 2)}
    # Two days on, only the late ones' unchanged step goes out: nothing of step 2.
    J.send_due_steps(account, timezone.now() + timedelta(days=3))
    steps = set(Campaign.objects.filter(journey=journey).values_list("journey_step", flat=True))
    assert steps == {0}
    assert not JourneyEntry.objects.filter(journey=journey, left_at__isnull=True).exists()


def test_inactive_followers_enter_once_a_day(make_sandbox):
    box = _box(make_sandbox, 3)
    account = _account(box)
    from fencun.audience.models import Follower

    quiet, busy, gone = _openids(box)
    now = timezone.now()
    Follower.objects.filter(openid=quiet).update(last_interaction_at=now - timedelta(days=40))
    Follower.objects.filter(openid=busy).update(last_interaction_at=now - timedelta(days=2))
    Follower.objects.filter(openid=gone).update(last_interaction_at=now - timedelta(days=40), subscribed=False)
    journey = _live(account, welcome(trigger={"kind": "inactive", "days": 30}))
    assert J.entry_pass(account, now).entered == 1
    assert list(JourneyEntry.objects.filter(journey=journey).values_list("openid", flat=True)) == [quiet]
    Follower.objects.filter(openid=busy).update(last_interaction_at=now - timedelta(days=40))
    assert J.entry_pass(account, now).entered == 0  # once a day


# ----- the API -------------------------------------------------------------------------------
def _call(client, method: str, url: str, token: str, body: object = None, lang: str = "en"):
    headers = {"HTTP_AUTHORIZATION": f"Bearer {token}", "HTTP_ACCEPT_LANGUAGE": lang}
    if body is None:
        return getattr(client, method)(url, **headers)
    return getattr(client, method)(url, data=json.dumps(body), content_type="application/json", **headers)


@pytest.fixture
def shop(make_account):
    account = make_account(app_id="wx-journey-api-0001")
    sofa = Category.objects.create(account=account, key="sofa", name="沙发")
    Product.objects.create(account=account, category=sofa, sku="SOFA-1", name="布艺沙发", price=2999)
    return account


def test_the_api_creates_starts_pauses_resumes_and_edits(client, shop):
    token = ApiToken.issue("agency", [shop])[1]
    r = _call(client, "post", "/api/journeys", token, {"name": "进店欢迎", "definition": welcome()})
    assert r.status_code == 201, r.content
    made = r.json()
    jid = made["id"]
    assert made["status"] == "draft" and made["definition"]["steps"][0]["send"]["products"] == [
        {"id": "SOFA-1", "price": 2999.0}]
    assert [s["kind"] for s in made["steps"]] == ["send", "wait", "send"]
    assert _call(client, "post", f"/api/journeys/{jid}/pause", token).status_code == 400  # a draft
    for action, status in (("start", "live"), ("pause", "paused"), ("resume", "live")):
        r = _call(client, "post", f"/api/journeys/{jid}/{action}", token)
        assert (r.status_code, r.json()["status"]) == (200, status), r.content
    r = _call(client, "patch", f"/api/journeys/{jid}", token, {"definition": welcome(steps=welcome()["steps"][:1])})
    assert (r.status_code, r.json()["version"]) == (200, 2), r.content
    r = _call(client, "patch", f"/api/journeys/{jid}", token,
              {"definition": welcome(steps=[{"send": {"title": "x", "category": "lamps"}}])})
    assert r.status_code == 400 and "lamps" in r.json()["detail"]
    got = _call(client, "get", f"/api/journeys/{jid}", token).json()
    assert got["version"] == 2 and got["counts"]["entered"] == 0
    listed = _call(client, "get", "/api/journeys", token).json()
    assert [j["id"] for j in listed] == [jid]


def test_the_api_refuses_a_bad_journey_and_saves_nothing(client, shop):
    token = ApiToken.issue("agency", [shop])[1]
    bad = welcome(trigger={"kind": "keyword", "keyword": ""})
    r = _call(client, "post", "/api/journeys", token, {"name": "j", "definition": bad}, lang="zh-hans")
    assert r.status_code == 400 and "关键词" in r.json()["detail"]
    assert not Journey.objects.exists()


def test_a_token_reaches_only_its_accounts_journeys(client, shop, make_account):
    other = make_account(app_id="wx-journey-api-0002")
    Category.objects.create(account=other, key="sofa", name="沙发")
    theirs = J.create_journey(other, name="theirs", definition=welcome(steps=[
        {"send": {"title": "hi", "category": "sofa", "products": []}}]))
    token = ApiToken.issue("agency", [shop])[1]
    reader = ApiToken.issue("reader", [shop], scope="read")[1]
    for method, url in (("get", ""), ("patch", ""), ("post", "/start"), ("post", "/pause"), ("post", "/resume")):
        body = {"name": "mine now"} if method == "patch" else None
        r = _call(client, method, f"/api/journeys/{theirs.pk}{url}", token, body)
        assert r.status_code == 404, (method, url)
    assert _call(client, "get", "/api/journeys", token).json() == []
    theirs.refresh_from_db()
    assert (theirs.name, theirs.status) == ("theirs", "draft")
    r = _call(client, "post", "/api/journeys", reader, {"name": "j", "definition": welcome()})
    assert r.status_code == 403 and not Journey.objects.filter(account=shop).exists()


def test_a_first_journey_reads_no_old_history_and_a_burst_is_caught_up(make_sandbox, monkeypatch):
    box = _box(make_sandbox, 1)
    account = _account(box)
    (who,) = _openids(box)
    now = timezone.now()
    record_events(account, [NewEvent("text", who, now, {"content": f"old {n}"}, "test", f"old{n}") for n in range(30)])
    journey = _live(account, welcome(trigger={"kind": "keyword", "keyword": "沙发"}))
    assert J.entry_pass(account).events == 0  # the log before the first journey is not read
    monkeypatch.setattr(J, "EVENTS_PER_PASS", 4)
    record_events(account, [NewEvent("text", f"o-burst-{n}", now, {"content": "沙发"}, "test", f"b{n}")
                            for n in range(10)])
    done = J.entry_pass(account)
    assert (done.events, done.entered) == (10, 10)
    assert JourneyEntry.objects.filter(journey=journey).count() == 10
