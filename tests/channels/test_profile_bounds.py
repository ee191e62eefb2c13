"""A profile from the user API with over-long text is stored cut to the follower's columns."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from fencun.audience import kinds
from fencun.audience.models import Follower
from fencun.audience.services import NewEvent, record_events
from fencun.audience.sync import profile_payload
from fencun.channels.wechat.client import FollowerProfile


@pytest.mark.django_db
def test_over_long_profile_text_is_cut_and_the_follower_stored(make_account):
    account = make_account()
    profile = FollowerProfile.from_api(
        {
            "openid": "o_long",
            "subscribe": 1,
            "subscribe_time": 1_780_000_000,
            "subscribe_scene": "ADD_SCENE_" + "X" * 100,
            "qr_scene_str": "店" * 100,
            "unionid": "u" * 100,
            "language": "zh_CN" * 10,
            "remark": "老客户" * 40,
        }
    )
    payload = profile_payload(profile)
    record_events(account, [NewEvent(kinds.PROFILE, "o_long", datetime.now(UTC), payload, "sync", "p1")])
    follower = Follower.objects.get(openid="o_long")
    for field in ("subscribe_scene", "subscribe_scene_value", "unionid", "language", "remark"):
        value = getattr(follower, field)
        assert value and len(value) == Follower._meta.get_field(field).max_length, field
    assert follower.subscribe_scene_value == "店" * 64
