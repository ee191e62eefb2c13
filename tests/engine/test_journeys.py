"""Journeys: who enters, where they wait, when they leave; every send an engine decision,
each step at most once; the backtest reports each journey."""

from __future__ import annotations

import json
from importlib import resources

import pytest

from fencun.backtest.runner import BacktestError, run_backtest
from fencun.engine.catalog import Category
from fencun.engine.clock import DAY, iso
from fencun.engine.journeys import JourneyBook, JourneyError, parse_journeys, step_of

CATS = [Category("sofa", "沙发"), Category("bed", "床")]
T0 = 1_760_000_000.0
SOFA = {"title": "沙发", "category": "sofa", "products": [{"id": "s1", "price": 3999}]}
BED = {"title": "床", "category": "bed", "products": [{"id": "b1", "price": 1999}]}


def _journey(**over):
    return {"id": "welcome", "trigger": {"kind": "subscribe", "scene": "store42"},
            "steps": [{"send": SOFA}, {"wait_days": 3}, {"send": BED}], "exit": {"on_order": True}} | over


@pytest.mark.parametrize(("bad", "says"), [
    ({"steps": []}, "steps"),
    ({"steps": [{"wait_days": 2}]}, "send step"),
    ({"steps": [{"send": {**SOFA, "category": "lamp"}}]}, "unknown category"),
    ({"steps": [{"wait_days": 0}, {"send": SOFA}]}, "wait_days"),
    ({"trigger": {"kind": "keyword", "keyword": " "}}, "every text"),
    ({"trigger": {"kind": "inactive"}}, "days"),
    ({"trigger": {"kind": "location"}}, "km"),
    ({"trigger": {"kind": "anything"}}, "trigger.kind"),
    ({"id": ""}, "id"),
])
def test_a_journey_that_cannot_run_is_refused_with_the_reason(bad, says):
    with pytest.raises(JourneyError, match=says):
        parse_journeys([_journey(**bad)], CATS)


def test_two_journeys_of_one_id_are_refused():
    with pytest.raises(JourneyError, match="taken"):
        parse_journeys([_journey(), _journey()], CATS)


def _ev(kind, openid, at, **fields):
    return {"kind": kind, "openid": openid, "at": iso(at), **fields}


def test_followers_enter_once_wait_and_leave_on_order_or_unfollow():
    book = JourneyBook(parse_journeys([_journey()], CATS))
    book.observe([
        _ev("subscribe", "o_store", T0, scene="qrscene_store42"),
        _ev("subscribe", "o_value", T0, scene="ADD_SCENE_QR_CODE", scene_value="store42"),
        _ev("subscribe", "o_search", T0, scene="ADD_SCENE_SEARCH"),
    ])
    assert book.tallies["welcome"].entered == 2
    (journey, step, who), = book.due(T0 + 60)
    assert step == 0 and who == {"o_store", "o_value"}
    book.decided(journey.step_campaign_id(0), ["o_store"], ["o_value"], T0 + 60)
    assert book.due(T0 + 2 * DAY) == []  # both wait three days
    (_, step, who), = book.due(T0 + 3 * DAY + 60)
    assert step == 2 and who == {"o_store", "o_value"}
    # Subscribing again does not enter again; an order leaves (the goal), an unfollow too.
    book.observe([
        _ev("subscribe", "o_store", T0 + 3 * DAY, scene="qrscene_store42"),
        _ev("order", "o_store", T0 + 3 * DAY, amount=3999.0),
        _ev("unsubscribe", "o_value", T0 + 3 * DAY),
    ])
    assert book.due(T0 + 4 * DAY) == []
    assert (book.tallies["welcome"].entered, book.tallies["welcome"].converted) == (2, 1)
    assert (book.tallies["welcome"].sent, book.tallies["welcome"].held_back) == (1, 1)


def test_an_order_journey_is_not_left_by_the_order_that_started_it():
    book = JourneyBook(parse_journeys([_journey(id="thanks", trigger={"kind": "order"})], CATS))
    book.observe([_ev("order", "o_buyer", T0, amount=5000.0)])
    assert [who for _, _, who in book.due(T0)] == [{"o_buyer"}]


def test_step_campaign_ids_name_their_journey_and_step():
    (journey,) = parse_journeys([_journey(id="win-back")], CATS)
    assert step_of(journey.step_campaign_id(2, "customer_service")) == ("win-back", 2)
    assert step_of("c00-sofa") is None


def _scenario(**over):
    text = resources.files("fencun.worlds.scenarios").joinpath("service-90d.json").read_text("utf-8")
    sc = json.loads(text)
    sc["journeys"] = [
        {"id": "welcome", "trigger": {"kind": "subscribe"},
         "steps": [{"send": {"title": "新客沙发礼", "category": "sofa",
                             "products": [{"id": "sofa-3seat", "price": 4299.0}]}},
                   {"wait_days": 2},
                   {"send": {"title": "床垫体验", "category": "mattress",
                             "products": [{"id": "mattress-latex", "price": 2999.0}]}}]},
    ]
    return sc | over


@pytest.mark.parametrize("policy", ["fencun", "blast"])
def test_the_backtest_runs_journeys_beside_campaigns_and_reports_each(policy):
    result = run_backtest(_scenario(), "fencun.worlds.furniture:world", policy, days=12, seed=3, references=False)
    welcome = result["journeys"]["welcome"]
    assert welcome["entered"] > 0
    # Every step of every entrant due by then was decided: sent, or held back with a reason.
    assert welcome["sent"] + welcome["held_back"] >= welcome["entered"] - welcome["converted"] - 1
    assert welcome["sent"] > 0
    assert result["violations"]["duplicate"] == 0 and result["violations"]["consent"] == 0
    assert set(welcome) >= {"entered", "sent", "held_back", "orders", "revenue"}


def test_a_scenario_without_journeys_reports_none_and_a_bad_one_is_refused():
    plain = _scenario()
    del plain["journeys"]
    assert "journeys" not in run_backtest(plain, "fencun.worlds.furniture:world", "none", days=2, seed=1, references=False)
    with pytest.raises(BacktestError, match="journeys"):
        run_backtest(_scenario(journeys=[{"id": "x", "steps": []}]), "fencun.worlds.furniture:world", "none", days=2)
