"""The JSON API: bearer tokens, followers, events, the OpenAPI document."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode

import pytest
from typer.testing import CliRunner

from fencun.api.models import ApiToken
from fencun.audience.services import record_event

T0 = datetime(2026, 11, 1, 8, 0, tzinfo=UTC)


@pytest.fixture
def account(make_account):
    return make_account()


@pytest.fixture
def token(account):
    """A write token for the test's one account."""
    return ApiToken.issue("tests", [account])[1]


def auth(token):
    return {"HTTP_AUTHORIZATION": f"Bearer {token}"}


@pytest.mark.django_db
def test_follower_contract_fields(client, account, token):
    record_event(
        account,
        kind="subscribe",
        openid="o1",
        occurred_at=T0,
        payload={"scene": "ADD_SCENE_QR_CODE", "scene_value": "7"},
        source="test",
        dedup_key="a",
    )
    record_event(
        account,
        kind="location",
        openid="o1",
        occurred_at=T0 + timedelta(minutes=1),
        payload={"lat": 23.11, "lng": 114.41},
        source="test",
        dedup_key="b",
    )
    body = client.get("/api/followers/o1", **auth(token)).json()
    assert body["openid"] == "o1"
    assert body["subscribed"] is True
    assert body["subscribe_scene"] == "ADD_SCENE_QR_CODE"
    assert body["subscribe_scene_value"] == "7"
    assert body["tags"] == []
    assert body["location"] == {"lat": 23.11, "lng": 114.41}
    assert body["last_interaction_at"].startswith("2026-11-01T08:00:00")


@pytest.mark.django_db
def test_unknown_follower_is_404(client, token):
    response = client.get("/api/followers/nobody", **auth(token))
    assert response.status_code == 404
    assert "nobody" in response.json()["detail"]


@pytest.mark.django_db
def test_events_oldest_first_with_kind_and_at(client, account, token):
    for i, kind in enumerate(["text", "subscribe", "click"]):
        record_event(
            account,
            kind=kind,
            openid="o2",
            occurred_at=T0 + timedelta(minutes=10 - i),
            payload={},
            source="test",
            dedup_key=f"e{i}",
        )
    record_event(
        account,
        kind="text",
        openid="other",
        occurred_at=T0,
        payload={},
        source="test",
        dedup_key="x",
    )
    events = client.get("/api/events?openid=o2", **auth(token)).json()
    assert [e["kind"] for e in events] == ["click", "subscribe", "text"]
    assert all({"kind", "at"} <= e.keys() for e in events)
    page = client.get("/api/events?openid=o2&offset=1&limit=1", **auth(token)).json()
    assert [e["kind"] for e in page] == ["subscribe"]


@pytest.mark.django_db
@pytest.mark.parametrize("header", [None, "Bearer wrong", "Bearer fc_00000000_nope", "Basic abc"])
def test_requests_without_a_valid_token_are_401(client, make_account, header):
    make_account()
    extra = {"HTTP_AUTHORIZATION": header} if header else {}
    assert client.get("/api/followers/o1", **extra).status_code == 401
    assert client.get("/api/events?openid=o1", **extra).status_code == 401


@pytest.mark.django_db
def test_revoked_token_is_refused(client, account):
    row, plaintext = ApiToken.issue("temp", [account])
    row.revoked = True
    row.save()
    assert client.get("/api/events?openid=o1", **auth(plaintext)).status_code == 401


@pytest.mark.django_db
def test_openapi_document_lists_the_contract(client):
    doc = client.get("/api/openapi.json").json()
    assert "/api/followers/{openid}" in doc["paths"]
    assert "/api/events" in doc["paths"]


@pytest.mark.django_db
def test_cli_creates_a_token_stored_hashed(transactional_db, make_account):
    from fencun.cli.main import app

    account = make_account()
    result = CliRunner().invoke(app, ["api-token", "create", "--name", "crm export"])
    assert result.exit_code == 0, result.output
    plaintext = result.output.strip()
    row = ApiToken.authenticate(plaintext)
    assert row is not None and row.name == "crm export"
    assert plaintext not in (row.digest, row.prefix)
    # The only account, and write scope: what a token reached before tokens were scoped.
    assert list(row.accounts.all()) == [account] and row.scope == "write"


@pytest.mark.django_db
def test_cli_refuses_blank_name(transactional_db, make_account):
    from fencun.cli.main import app

    make_account()
    result = CliRunner().invoke(app, ["api-token", "create", "--name", "  "])
    assert result.exit_code != 0
    assert ApiToken.objects.count() == 0


@pytest.mark.django_db
def test_rules_read_and_change_with_the_control_group(client, account, token):
    from fencun.campaigns.services import rules_for

    body = client.get("/api/rules", **auth(token)).json()
    assert body["control_fraction"] == 0.05 and body["holdout_fraction"] == 0.05
    assert body["follower_value_yuan"] is None
    r = client.patch("/api/rules", {"control_fraction": 0.1, "follower_value_yuan": 80},
                     content_type="application/json", **auth(token))
    assert r.status_code == 200, r.content
    assert r.json()["control_fraction"] == 0.1 and r.json()["quiet_start"] == "22:00"
    rules = rules_for(account)
    assert (rules.control_fraction, rules.follower_value_yuan) == (0.1, 80)
    assert rules.as_engine_rules().control_fraction == 0.1
    r = client.patch("/api/rules", {"follower_value_yuan": None}, content_type="application/json", **auth(token))
    assert r.status_code == 200 and r.json()["follower_value_yuan"] is None


@pytest.mark.django_db
@pytest.mark.parametrize("bad", [
    {"control_fraction": 0.5},
    {"control_fraction": -0.1},
    {"control_fraction": "a tenth"},
    {"control_fraction": None},
    {"quiet_start": "25:00"},
    {"holdout_fraction": 0.9},
])
def test_bad_rules_are_refused_with_the_field_and_change_nothing(client, token, bad):
    from fencun.campaigns.models import Rules

    client.get("/api/rules", **auth(token))
    before = list(Rules.objects.values())
    r = client.patch("/api/rules", {"weekly_cap": 1, **bad}, content_type="application/json", **auth(token))
    assert r.status_code in (400, 422), r.content
    assert next(iter(bad)) in r.content.decode()
    assert list(Rules.objects.values()) == before


@pytest.mark.django_db
def test_rules_need_a_token_and_an_account(client, account, token):
    assert client.get("/api/rules").status_code == 401
    assert client.get("/api/rules", **auth(token)).status_code == 200
    assert client.get("/api/rules?account=wxnope", **auth(token)).status_code == 404
    account.delete()  # the token's only account: nothing left to reach
    assert client.get("/api/rules", **auth(token)).status_code == 404


@pytest.mark.django_db
def test_the_control_lift_is_the_insights_report(client, account, token):
    from fencun.insights.control_lift import control_lift

    for n in range(60):
        record_event(account, kind="subscribe", openid=f"o-cl-{n}", occurred_at=T0, payload={},
                     source="test", dedup_key=f"cl{n}")
    body = client.get("/api/insights/control-lift?days=30", **auth(token)).json()
    expected = control_lift(account, 30)
    assert body["days"] == 30 and body["control_fraction"] == 0.05
    assert body["control"]["followers"] == expected.control.followers
    assert body["control"]["followers"] + body["others"]["followers"] == 60
    assert set(body) >= {"revenue_per_follower", "orders_per_follower", "unfollow_rate", "incremental_revenue"}
    assert client.get("/api/insights/control-lift?days=0", **auth(token)).status_code == 422
    assert client.get("/api/insights/control-lift").status_code == 401


@pytest.mark.django_db
def test_openapi_document_lists_rules_and_the_control_lift(client):
    doc = client.get("/api/openapi.json").json()
    assert {"get", "patch"} <= doc["paths"]["/api/rules"].keys()
    assert "/api/insights/control-lift" in doc["paths"]
    rules_in = doc["components"]["schemas"]["RulesIn"]["properties"]["control_fraction"]
    number = next(s for s in rules_in["anyOf"] if s.get("type") == "number")
    assert (number["minimum"], number["maximum"]) == (0.0, 0.2)



@pytest.mark.django_db(transaction=True)
def test_a_follower_who_scanned_a_channel_code_shows_its_scene(client, account, token, signer):
    from tests.conftest import message

    query, body = signer.plain(message("o_store", MsgType="event", Event="subscribe",
                                       EventKey="qrscene_store42", Ticket="tk"))
    answer = client.post(f"/wechat/callback?{urlencode(query)}", data=body, content_type="text/xml")
    assert answer.status_code == 200
    follower = client.get("/api/followers/o_store", **auth(token)).json()
    assert (follower["subscribe_scene"], follower["subscribe_scene_value"]) == ("ADD_SCENE_QR_CODE", "store42")


@pytest.mark.django_db
def test_a_followers_record_holds_their_profile_events_orders_and_deliveries(client, account, token, make_account):
    from fencun.insights.models import CampaignMember

    for i, (kind, payload) in enumerate([("subscribe", {"scene": "ADD_SCENE_SEARCH"}),
                                         ("text", {"content": "沙发"}),
                                         ("order", {"order_id": "A1", "amount": 2999.0})]):
        record_event(account, kind=kind, openid="o_me", occurred_at=T0 + timedelta(hours=i),
                     payload=payload, source="test", dedup_key=f"me{i}")
    record_event(account, kind="text", openid="o_other", occurred_at=T0, payload={"content": "x"},
                 source="test", dedup_key="other")
    CampaignMember.objects.create(account=account, campaign_id=7, openid="o_me", arm="a",
                                  sent_at=T0 + timedelta(minutes=30), read=True, orders=1, revenue=2999.0)
    body = client.get("/api/followers/o_me/export", **auth(token)).json()
    assert body["profile"]["openid"] == "o_me" and body["profile"]["subscribed"] is True
    assert [e["kind"] for e in body["events"]] == ["subscribe", "text", "order"]
    assert [e["payload"]["order_id"] for e in body["orders"]] == ["A1"]
    assert [(d["campaign_id"], d["arm"], d["read"], d["revenue"]) for d in body["deliveries"]] == [(7, "a", True, 2999.0)]
    assert client.get("/api/followers/nobody/export", **auth(token)).status_code == 404
    # Another account's token sees none of it.
    stranger = ApiToken.issue("stranger", [make_account(app_id="wx_stranger_account")])[1]
    assert client.get("/api/followers/o_me/export", **auth(stranger)).status_code == 404
