"""Generated callback messages, well-formed and correctly signed, with bad values in
their fields (numbers that are not, coordinates off the globe, NUL and control
characters, huge ids, unknown types and events): each is stored once and acknowledged,
or refused with a 4xx that stores nothing; never a server error."""

from __future__ import annotations

from urllib.parse import urlencode

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from tests.conftest import message, sized

from fencun.audience.models import Event, Follower

pytestmark = pytest.mark.fuzz

URL = "/wechat/callback"
FUZZ = settings(max_examples=sized(300, 40), deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])

MSG_TYPES = ["text", "image", "voice", "video", "shortvideo", "location", "link", "event"]
EVENTS = ["subscribe", "unsubscribe", "SCAN", "LOCATION", "CLICK", "VIEW", "MASSSENDJOBFINISH",
          "TEMPLATESENDJOBFINISH", "view_miniprogram", "user_get_card"]
FIELDS = ["Content", "MsgId", "CreateTime", "Location_X", "Location_Y", "Scale", "Label", "Latitude",
          "Longitude", "Precision", "EventKey", "PicUrl", "MediaId", "Title", "Description", "Url",
          "Status", "TotalCount", "FilterCount", "SentCount", "ErrorCount", "MsgID", "Format",
          "Recognition", "ThumbMediaId"]

value = st.one_of(
    st.sampled_from(["", "NaN", "nan", "inf", "-inf", "1e400", "-1", "0", "-0", "9" * 300,
                     "91", "-181", "23.1", "114.4", "qrscene_", "qrscene_" + "x" * 300, "2147483648",
                     str(2**63), str(-(2**63) - 1), "0x1F", " 42 "]),
    st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=80),
    st.builds(lambda a, b: f"{a}\x00{b}", st.text(max_size=8), st.text(max_size=8)),
    st.integers(-(2**80), 2**80),
    st.floats(),
)
openid = st.one_of(st.just("o_gen"), st.text(min_size=1, max_size=100))


@st.composite
def callback(draw) -> dict:
    msg_type = draw(st.sampled_from(MSG_TYPES) | st.text(min_size=1, max_size=20))
    fields = message(draw(openid), MsgType=msg_type)
    if msg_type == "event":
        fields["Event"] = draw(st.sampled_from(EVENTS) | st.text(min_size=1, max_size=20))
    else:
        fields["MsgId"] = draw(st.integers(1, 2**62))
    for name in draw(st.lists(st.sampled_from(FIELDS), max_size=5, unique=True)):
        fields[name] = draw(value)
    return fields


def snapshot() -> tuple:
    return (
        list(Event.objects.order_by("id").values_list("id", "kind", "dedup_key")),
        list(Follower.objects.order_by("id").values_list("id", "openid", "subscribed", "lat", "lng")),
    )


@pytest.mark.django_db
@pytest.mark.parametrize("mode", ["plaintext", "safe"])
@FUZZ
@given(fields=callback())
def test_a_generated_message_is_stored_once_or_refused_and_never_a_server_error(
    client, make_account, signer, mode, fields
):
    from fencun.accounts.models import Account

    if not Account.objects.exists():
        make_account(mode=mode)
    try:
        query, body = signer.plain(fields) if mode == "plaintext" else signer.safe(fields)
    except ValueError:
        return  # a value the XML builder itself cannot write (WeChat could not send it either)
    before = snapshot()
    answers = [client.post(f"{URL}?{urlencode(query)}", data=body, content_type="text/xml") for _ in range(2)]
    for answer in answers:  # WeChat's retry gets the same answer
        assert answer.status_code in (200, 400, 403), (answer.status_code, answer.content[:300])
    assert answers[0].status_code == answers[1].status_code
    event(f"answered {answers[0].status_code}")
    new = Event.objects.filter(id__gt=max([i for i, _, _ in before[0]], default=0))
    if answers[0].status_code == 200:
        assert new.count() <= 1, list(new.values_list("kind", "dedup_key"))  # once, retry or not
    else:
        assert snapshot() == before
