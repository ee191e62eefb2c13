"""Over-long fields in a callback: stored cut to their columns, acknowledged, never a 500."""

from __future__ import annotations

from urllib.parse import urlencode

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.conftest import message

from fencun.audience.models import Event, Follower
from fencun.gateway import normalize

URL = "/wechat/callback"
FUZZ = settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
# Letters of every script (some grow when lower-cased, as "İ" does) and digits.
long_text = st.text(
    alphabet=st.characters(whitelist_categories=("Lu", "Ll", "Lo", "Nd")), min_size=65, max_size=400
)


def post(client, signer, fields):
    query, body = signer.plain(fields)
    return client.post(f"{URL}?{urlencode(query)}", data=body, content_type="text/xml")


@pytest.fixture
def account(make_account):
    return make_account()


def acknowledged(response) -> None:
    assert response.status_code == 200, response.content[:300]
    assert response.content == b"success"


def test_the_bounds_are_the_columns_widths():
    assert Event._meta.get_field("openid").max_length == normalize.OPENID_LENGTH
    assert Event._meta.get_field("kind").max_length == normalize.KIND_LENGTH
    assert Event._meta.get_field("dedup_key").max_length == normalize.DEDUP_KEY_LENGTH
    assert Follower._meta.get_field("subscribe_scene_value").max_length == normalize.SCENE_VALUE_LENGTH


@pytest.mark.django_db
@FUZZ
@given(event=long_text)
def test_an_over_long_event_is_stored_with_its_kind_cut(client, account, signer, event):
    Event.objects.all().delete()
    acknowledged(post(client, signer, message(MsgType="event", Event=event, EventKey="k")))
    stored = Event.objects.get()
    assert stored.kind == event.strip().lower()[: normalize.KIND_LENGTH]
    assert len(stored.dedup_key) <= normalize.DEDUP_KEY_LENGTH
    assert stored.payload["raw"]["Event"] == event  # the whole value is kept in the payload
    # WeChat's retry of the same event collapses into the stored row.
    acknowledged(post(client, signer, message(MsgType="event", Event=event, EventKey="k",
                                              CreateTime=stored.payload["raw"]["CreateTime"])))
    assert Event.objects.count() == 1


@pytest.mark.django_db
@FUZZ
@given(msg_type=long_text, msg_id=st.integers(10**200, 10**300))
def test_an_over_long_message_type_and_id_are_stored_cut(client, account, signer, msg_type, msg_id):
    Event.objects.all().delete()
    acknowledged(post(client, signer, message(MsgType=msg_type, MsgId=msg_id, MediaId="m")))
    stored = Event.objects.get()
    assert stored.kind == msg_type.strip().lower()[: normalize.KIND_LENGTH]
    assert len(stored.dedup_key) <= normalize.DEDUP_KEY_LENGTH
    # Another message whose id differs only past the cut is another event.
    acknowledged(post(client, signer, message(MsgType=msg_type, MsgId=msg_id + 1, MediaId="m")))
    assert Event.objects.count() == 2


@pytest.mark.django_db
@FUZZ
@given(scene=long_text)
def test_an_over_long_qr_scene_is_cut_to_the_followers_column(client, account, signer, scene):
    Event.objects.all().delete()
    Follower.objects.all().delete()
    acknowledged(post(client, signer, message(MsgType="event", Event="subscribe", EventKey=f"qrscene_{scene}")))
    follower = Follower.objects.get()
    assert follower.subscribed
    assert follower.subscribe_scene_value == scene[: normalize.SCENE_VALUE_LENGTH]
    acknowledged(post(client, signer, message(MsgType="event", Event="SCAN", EventKey=scene)))
    assert Event.objects.get(kind="scan").payload["scene_value"] == scene[: normalize.SCENE_VALUE_LENGTH]


@pytest.mark.django_db
def test_an_openid_too_long_to_be_one_is_refused_and_nothing_stored(client, make_account, signer):
    make_account()
    response = post(client, signer, message("o" * 65, MsgType="text", Content="hi", MsgId=1))
    assert response.status_code == 400
    assert not Event.objects.exists() and not Follower.objects.exists()

