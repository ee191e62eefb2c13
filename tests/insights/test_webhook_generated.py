"""Generated bodies for the orders webhook, correctly signed (the sender holds the secret,
and sends what its shop produced): orders stored, or a 4xx naming the problem that stores
nothing; never a server error."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.conftest import sized

from fencun.audience.models import Event
from fencun.insights import webhooks

pytestmark = pytest.mark.fuzz

FUZZ = settings(max_examples=sized(200, 30), deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])

FIELDS = ["order_id", "amount", "ordered_at", "openid", "unionid", "product", "coupon", "scene"]
json_value = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats(allow_nan=False)
    | st.text(max_size=40) | st.sampled_from(["\x00", "1e400", "9999-12-31T23:59:59-14:00", "-1", "NaN"]),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3),
    max_leaves=6,
)
good = {"order_id": "W-1", "amount": "10", "ordered_at": "2026-11-01T10:00:00+08:00", "openid": "o1"}
an_order = st.builds(lambda changes: good | changes,
                     st.dictionaries(st.sampled_from(FIELDS), json_value, max_size=3))
body = st.one_of(
    an_order,
    st.builds(lambda orders: {"orders": orders}, st.lists(an_order, max_size=4)),
    st.builds(lambda orders, account: {"orders": orders, "account": account},
              st.lists(an_order, min_size=1, max_size=2), json_value),
    json_value,
)


@pytest.mark.django_db
@FUZZ
@given(data=body)
def test_a_generated_signed_body_is_stored_or_refused_and_never_a_server_error(client, make_account, data):
    from fencun.accounts.models import Account

    if not Account.objects.exists():
        make_account()
    raw = json.dumps(data, ensure_ascii=False).encode("utf-8", "surrogatepass")
    before = list(Event.objects.order_by("id").values_list("id", "dedup_key"))
    answer = client.post(f"/webhooks/orders/{webhooks.path_secret()}", raw, content_type="application/json",
                         HTTP_X_FENCUN_SIGNATURE=webhooks.sign(raw))
    assert answer.status_code in (200, 400), (answer.status_code, answer.content[:300])
    if answer.status_code == 400:
        assert answer.json()["detail"]
        assert list(Event.objects.order_by("id").values_list("id", "dedup_key")) == before


@pytest.mark.django_db
@pytest.mark.parametrize("account", ["\x00", "wx\x00", "w" * 33, ["wx1"], {"a": 1}, 7])
def test_an_account_that_is_no_appid_is_a_400_not_a_server_error(client, make_account, account):
    # Found by the test above on PostgreSQL: a NUL in ``account`` failed the account's lookup.
    make_account()
    raw = json.dumps({"orders": [good], "account": account}).encode()
    answer = client.post(f"/webhooks/orders/{webhooks.path_secret()}", raw, content_type="application/json",
                         HTTP_X_FENCUN_SIGNATURE=webhooks.sign(raw))
    assert answer.status_code == 400, answer.content
    assert "account" in answer.json()["detail"]
    assert not Event.objects.exists()
