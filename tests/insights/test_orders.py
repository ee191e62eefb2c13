"""Orders: attribution by link, coupon and scene within the window; all-or-nothing
imports; the signed webhook; the API refuses anonymous callers."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from django.utils import translation
from typer.testing import CliRunner

from fencun.api.models import ApiToken
from fencun.audience.models import Event, Follower
from fencun.audience.services import record_event
from fencun.insights import links, orders, services, webhooks

T0 = datetime(2026, 11, 1, 8, 0, tzinfo=UTC)


def order(order_id="A1", at=T0, **extra):
    return {"order_id": order_id, "amount": "199.00", "ordered_at": at.isoformat(), "openid": "o1", **extra}


def click(account, campaign, at, openid="o1"):
    token = links.make_token(account.pk, campaign, openid, "sofa", "https://shop.example/p")
    links.follow(token, at)


@pytest.mark.django_db
def test_order_after_a_click_is_attributed_to_that_campaign(make_account):
    account = make_account()
    click(account, 5, T0 - timedelta(days=2))
    (result,) = orders.import_orders(account, [order()])
    assert (result.created, result.campaign, result.attributed_by) == (True, 5, "link")
    event = Event.objects.get(kind="order")
    assert event.payload["amount"] == 199.0
    assert event.payload["campaign"] == 5
    assert event.follower.openid == "o1"


@pytest.mark.django_db
def test_last_touch_wins(make_account):
    account = make_account()
    click(account, 5, T0 - timedelta(days=3))
    click(account, 6, T0 - timedelta(days=1))
    (result,) = orders.import_orders(account, [order()])
    assert result.campaign == 6


@pytest.mark.django_db
def test_a_click_outside_the_window_does_not_attribute(make_account):
    account = make_account()
    click(account, 5, T0 - timedelta(days=8))
    click(account, 6, T0 + timedelta(hours=1))  # after the order: not a cause
    (result,) = orders.import_orders(account, [order()])
    assert result.campaign is None
    assert Event.objects.get(kind="order").payload["campaign"] is None


@pytest.mark.django_db
def test_the_window_is_configurable(make_account, settings):
    settings.FENCUN_ATTRIBUTION_DAYS = 10
    account = make_account()
    click(account, 5, T0 - timedelta(days=8))
    assert orders.import_orders(account, [order()])[0].campaign == 5


@pytest.mark.django_db
def test_coupon_of_a_campaign_the_follower_received(make_account):
    account = make_account()
    orders.register_code(account, "coupon", "SOFA50", 9, at=T0 - timedelta(days=30))
    services.record_deliveries(account, 9, ["o1"], T0 - timedelta(days=1))
    (result,) = orders.import_orders(account, [order(coupon="SOFA50")])
    assert (result.campaign, result.attributed_by) == (9, "coupon")
    # The same coupon long after the send, and the code issued long ago: not attributed.
    (late,) = orders.import_orders(account, [order("A2", at=T0 + timedelta(days=20), coupon="SOFA50")])
    assert late.campaign is None


@pytest.mark.django_db
def test_qr_scene_within_the_window(make_account):
    account = make_account()
    orders.register_code(account, "scene", "store-3", 11, at=T0 - timedelta(days=60))
    record_event(account, kind="subscribe", openid="o1", occurred_at=T0 - timedelta(days=3),
                 payload={"scene": "ADD_SCENE_QR_CODE", "scene_value": "store-3"}, source="test", dedup_key="s1")
    assert orders.import_orders(account, [order()])[0].attributed_by == "scene"
    assert orders.import_orders(account, [order("A2", at=T0 + timedelta(days=5))])[0].campaign is None


@pytest.mark.django_db
def test_unionid_matches_the_follower(make_account):
    account = make_account()
    Follower.objects.create(account=account, openid="o_union", unionid="u123", subscribed=True)
    (result,) = orders.import_orders(account, [{**order(), "openid": "", "unionid": "u123"}])
    assert result.openid == "o_union"


@pytest.mark.django_db
def test_the_same_order_twice_is_stored_once(make_account):
    account = make_account()
    orders.import_orders(account, [order()])
    (again,) = orders.import_orders(account, [order()])
    assert again.created is False
    assert Event.objects.filter(kind="order").count() == 1


@pytest.mark.django_db
@pytest.mark.parametrize("bad, message", [
    ({"amount": "abc"}, "amount is not a number"),
    ({"amount": "-1"}, "amount out of range"),
    ({"amount": "NaN"}, "amount out of range"),
    ({"ordered_at": "yesterday"}, "ordered_at"),
    ({"order_id": ""}, "order_id is required"),
    ({"openid": ""}, "openid or unionid"),
    ({"openid": "", "unionid": "nobody"}, "no follower with unionid"),
])
def test_one_bad_row_imports_nothing(make_account, bad, message):
    account = make_account()
    with translation.override("en"), pytest.raises(orders.OrderError) as caught:
        orders.import_orders(account, [order("A1"), {**order("A2"), **bad}, order("A3")])
    assert caught.value.errors[0][0] == 2
    assert message in caught.value.errors[0][1]
    assert not Event.objects.exists()
    assert not Follower.objects.exists()


def test_csv_import_all_or_nothing(make_account, tmp_path: Path, monkeypatch, django_db_blocker, db):
    from fencun.cli.main import app

    account = make_account()
    good = tmp_path / "good.csv"
    good.write_text("order_id,amount,ordered_at,openid,product\nB1,10.5,2026-11-01T10:00:00+08:00,o1,sofa\n"
                    "B2,20,2026-11-01 11:00,o2,\n", encoding="utf-8")
    bad = tmp_path / "bad.csv"
    bad.write_text("order_id,amount,ordered_at,openid\nC1,10,2026-11-01T10:00:00+08:00,o1\nC2,x,2026-11-01,o1\n",
                   encoding="utf-8")
    monkeypatch.setattr("fencun.cli.orders.setup_django", lambda: None)
    runner = CliRunner()
    result = runner.invoke(app, ["import-orders", str(bad), "--lang", "en"])
    assert result.exit_code == 1
    assert "row 2: amount is not a number" in result.output
    result = runner.invoke(app, ["import-orders", str(bad)])  # the merchant's default language
    assert result.exit_code == 1
    assert "第 2 行：amount（金额）不是数字" in result.output
    assert not Event.objects.filter(kind="order").exists()
    result = runner.invoke(app, ["import-orders", str(good), "--lang", "en"])
    assert result.exit_code == 0, result.output
    assert "imported 2 orders" in result.output
    assert set(Event.objects.filter(account=account, kind="order").values_list("openid", flat=True)) == {"o1", "o2"}


def _post_webhook(client, body: bytes, signature: str | None, path: str | None = None):
    headers = {} if signature is None else {"HTTP_X_FENCUN_SIGNATURE": signature}
    return client.post(f"/webhooks/orders/{path or webhooks.path_secret()}", body,
                       content_type="application/json", **headers)


@pytest.mark.django_db
def test_webhook_accepts_a_signed_order_once(client, make_account):
    make_account()
    body = json.dumps(order()).encode()
    first = _post_webhook(client, body, webhooks.sign(body))
    assert first.status_code == 200, first.content
    assert first.json()["orders"][0]["created"] is True
    again = _post_webhook(client, body, webhooks.sign(body))
    assert again.json()["orders"][0]["created"] is False
    assert Event.objects.filter(kind="order").count() == 1


@pytest.mark.django_db
def test_webhook_reads_a_chunked_body_and_refuses_an_oversized_one(client, make_account):
    import io

    make_account()

    def chunked(body: bytes):
        # What gunicorn hands the view for a chunked POST: no Content-Length, the input ended.
        return client.generic(
            "POST", f"/webhooks/orders/{webhooks.path_secret()}", b"", content_type="application/json",
            CONTENT_LENGTH="", HTTP_TRANSFER_ENCODING="chunked", HTTP_X_FENCUN_SIGNATURE=webhooks.sign(body),
            **{"wsgi.input": io.BytesIO(body), "wsgi.input_terminated": True},
        )

    response = chunked(json.dumps(order()).encode())
    assert response.status_code == 200, response.content
    assert Event.objects.filter(kind="order").count() == 1
    assert chunked(b" " * 1_000_001).status_code == 413


@pytest.mark.django_db
def test_webhook_refuses_bad_signatures_and_paths(client, make_account):
    make_account()
    body = json.dumps(order()).encode()
    assert _post_webhook(client, body, None).status_code == 403
    assert _post_webhook(client, body, "sha256=" + "0" * 64).status_code == 403
    assert _post_webhook(client, body + b" ", webhooks.sign(body)).status_code == 403
    assert _post_webhook(client, body, webhooks.sign(body), path="guess").status_code == 404
    assert _post_webhook(client, b"[1, 2", webhooks.sign(b"[1, 2")).status_code == 400
    big = b" " * 1_000_001
    assert _post_webhook(client, big, webhooks.sign(big)).status_code == 413
    bad = json.dumps(order(amount="x")).encode()
    response = _post_webhook(client, bad, webhooks.sign(bad))
    assert response.status_code == 400
    assert response.json()["errors"][0]["row"] == 1
    assert not Event.objects.exists()


@pytest.mark.django_db
def test_orders_api_needs_a_token_and_imports(client, make_account):
    account = make_account()
    payload = {"orders": [order(), order("A2")]}
    anonymous = client.post("/api/orders", payload, content_type="application/json")
    assert anonymous.status_code == 401
    assert not Event.objects.exists()
    token = ApiToken.issue("tests", [account])[1]
    response = client.post("/api/orders", payload, content_type="application/json",
                           HTTP_AUTHORIZATION=f"Bearer {token}")
    assert response.status_code == 200, response.content
    assert [o["order_id"] for o in response.json()] == ["A1", "A2"]
    bad = client.post("/api/orders", {"orders": [order("A3"), order("A4", amount="x")]},
                      content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {token}",
                      HTTP_ACCEPT_LANGUAGE="en")
    assert bad.status_code == 400
    assert bad.json()["errors"] == [{"row": 2, "error": "amount is not a number: 'x'"}]
    assert Event.objects.filter(kind="order").count() == 2
