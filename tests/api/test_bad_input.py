"""Bad input to the API: a 4xx that names the problem, never a 500, and nothing written."""

from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fencun.api.models import ApiToken
from fencun.audience.models import Event, Follower
from fencun.audience.services import record_event
from fencun.campaigns.models import Rules

T0 = datetime(2026, 11, 1, 8, 0, tzinfo=UTC)
FUZZ = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)

# Strings with a NUL somewhere, huge or negative numbers, times at the ends of the calendar.
nul_text = st.builds(lambda a, b: f"{a}\x00{b}", st.text(max_size=10), st.text(max_size=10))
huge = st.integers(min_value=10**8, max_value=10**40).map(str) | st.sampled_from(
    ["9" * 5000, "-1", "1e400", "NaN"]
)
edge_time = st.sampled_from(
    [
        "0001-01-01T00:00:00",
        "0001-01-01T00:00:00+08:00",
        "0001-01-01T00:00:00-14:00",
        "9999-12-31T23:59:59",
        "9999-12-31T23:59:59-14:00",
        "9999-12-31T23:59:59+14:00",
        "1900-01-01T00:00:00Z",
        "2200-01-01T00:00:00Z",
    ]
)


@pytest.fixture
def account(make_account):
    account = make_account()
    record_event(account, kind="subscribe", openid="o1", occurred_at=T0, payload={}, source="test",
                 dedup_key="s1")
    return account


@pytest.fixture
def token(account):
    return ApiToken.issue("tests", [account])[1]


def auth(token):
    return {"HTTP_AUTHORIZATION": f"Bearer {token}"}


def snapshot():
    return (
        list(Event.objects.order_by("id").values_list("id", "kind", "openid", "payload")),
        list(Follower.objects.order_by("id").values_list("id", "openid", "subscribed")),
        list(Rules.objects.order_by("id").values()),
    )


def refused(response) -> None:
    assert 400 <= response.status_code < 500, (response.status_code, response.content[:300])
    if response["Content-Type"].startswith("application/json"):  # not a path no route matches
        assert response.json()["detail"]


@pytest.mark.django_db
@pytest.mark.parametrize(
    "query",
    [
        {"openid": "o1", "offset": str(2**63)},
        {"openid": "o1", "offset": "9" * 400},
        {"openid": "o1", "limit": str(2**64)},
        {"openid": "o1", "offset": "-1"},
        {"openid": "o1\x00"},
        {"openid": "o1", "account": "wx\x00"},
        {"openid": "o" * 65},
    ],
)
def test_bad_paging_or_text_in_the_events_query_is_a_422(client, account, token, query):
    response = client.get("/api/events", query, **auth(token))
    assert response.status_code == 422, response.content
    assert response.json()["detail"]


@pytest.mark.django_db
def test_the_largest_offset_allowed_is_an_empty_page(client, account, token):
    from fencun import inputs

    response = client.get("/api/events", {"openid": "o1", "offset": inputs.MAX_OFFSET}, **auth(token))
    assert response.status_code == 200 and response.json() == []


@pytest.mark.django_db
@FUZZ
@given(openid=nul_text, offset=huge | st.integers(0, 100).map(str), account_id=st.none() | nul_text)
def test_generated_bad_list_queries_never_fail_the_server(client, account, token, openid, offset, account_id):
    query = {"openid": openid, "offset": offset, **({"account": account_id} if account_id else {})}
    before = snapshot()
    refused(client.get("/api/events", query, **auth(token)))
    refused(client.get(f"/api/followers/{quote(openid, safe='')}", **auth(token)))
    refused(client.get("/api/rules", {"account": f"{account_id or ''}\x00"}, **auth(token)))
    assert snapshot() == before


def order(**fields):
    return {"order_id": "A-1", "amount": "99.00", "ordered_at": "2026-11-01T10:00:00+08:00",
            "openid": "o1"} | fields


@pytest.mark.django_db
@pytest.mark.parametrize(
    "bad",
    [
        {"ordered_at": "0001-01-01T00:00:00"},
        {"ordered_at": "0001-01-01T00:00:00+08:00"},
        {"ordered_at": "9999-12-31T23:59:59"},
        {"ordered_at": "9999-12-31T23:59:59-14:00"},
        {"order_id": "A\x00"},
        {"openid": "o1\x00"},
        {"product": "SOFA\x001"},
        {"amount": "1e400"},
        {"amount": "9" * 5000},
        {"amount": "one yuan"},
    ],
)
def test_a_bad_order_is_refused_with_its_row_and_nothing_is_stored(client, account, token, bad):
    before = snapshot()
    response = client.post("/api/orders", {"orders": [order(order_id="ok"), order(**bad)]},
                           content_type="application/json", **auth(token))
    assert response.status_code in (400, 422), response.content
    body = response.json()
    if response.status_code == 400:
        assert body["errors"][0]["row"] == 2, body
    assert snapshot() == before


@pytest.mark.django_db
def test_a_nul_in_the_orders_account_is_a_422(client, account, token):
    response = client.post("/api/orders", {"orders": [order()], "account": "wx\x00"},
                           content_type="application/json", **auth(token))
    assert response.status_code == 422
    assert not Event.objects.filter(kind="order").exists()


@pytest.mark.django_db
@FUZZ
@given(
    field=st.sampled_from(["order_id", "amount", "ordered_at", "openid", "unionid", "product", "coupon", "scene"]),
    value=nul_text | huge | edge_time | st.text(min_size=101, max_size=300),
)
def test_generated_bad_orders_are_refused_and_store_nothing(client, account, token, field, value):
    before = snapshot()
    response = client.post("/api/orders", {"orders": [order(**{field: value})]},
                           content_type="application/json", **auth(token))
    if response.status_code == 200:  # a value that is merely odd, yet valid, was stored
        assert field in ("unionid", "product", "coupon", "scene", "openid", "order_id", "amount")
        Event.objects.filter(kind="order").delete()
        return
    refused(response)
    assert snapshot() == before


@pytest.mark.django_db
@FUZZ
@given(
    field=st.sampled_from(["quiet_start", "quiet_end", "weekly_cap", "holdout_fraction", "follower_value_yuan"]),
    value=nul_text | huge | st.floats(allow_nan=True, allow_infinity=True) | st.integers(-(2**70), 2**70),
)
def test_generated_bad_rules_are_refused_and_change_nothing(client, account, token, field, value):
    client.get("/api/rules", **auth(token))
    before = snapshot()
    response = client.patch("/api/rules", {field: value}, content_type="application/json", **auth(token))
    if response.status_code == 200:  # an in-range number: a real change, undone for the next example
        Rules.objects.all().delete()
        return
    refused(response)
    assert snapshot() == before


@pytest.mark.django_db
def test_an_empty_orders_list_is_a_422_as_its_schema_says(client, account, token):
    # The document says at least one order (minItems 1): a request it forbids is refused by
    # the schema, before the import, like every other that does not fit.
    response = client.post("/api/orders", {"orders": []}, content_type="application/json", **auth(token))
    assert response.status_code == 422, response.content
    assert response.json()["detail"][0]["loc"] == ["body", "body", "orders"]
    assert not Event.objects.filter(kind="order").exists()
