"""PUBLISHJOBFINISH (a draft published without a push) as the event log stores it."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from fencun.channels.receipts import parse_receipt
from fencun.gateway.normalize import normalize
from fencun.protocol.xmlmsg import parse
from fencun.sandbox.callbacks import to_xml


def _event(info: dict) -> dict:
    """The callback as WeChat sends it (the sandbox's XML writer), parsed as the gateway does."""
    fields = {
        "ToUserName": "gh_f3nc0n5andb0x",
        "FromUserName": "mphelper",
        "CreateTime": 1_790_000_000,
        "MsgType": "event",
        "Event": "PUBLISHJOBFINISH",
        "PublishEventInfo": info,
    }
    return parse(to_xml(fields).encode())


def test_a_published_draft_keeps_its_article_id_and_every_url():
    urls = ["https://mp.weixin.qq.com/s/a?idx=1", "https://mp.weixin.qq.com/s/a?idx=2"]
    info = {
        "publish_id": 2247503051,
        "publish_status": 0,
        "article_id": "b5O2OUs25HBxRceL7hfReg",
        "article_detail": {
            "count": 2,
            "item": [{"idx": i + 1, "article_url": u} for i, u in enumerate(urls)],
        },
    }
    incoming = normalize(_event(info))
    assert incoming.kind == "publishjobfinish" and incoming.openid == ""
    assert incoming.payload["article_urls"] == urls
    receipt = parse_receipt(incoming.kind, incoming.payload)
    assert receipt is not None and receipt.status == "posted"
    assert (receipt.reference, receipt.article_id) == ("2247503051", "b5O2OUs25HBxRceL7hfReg")
    assert receipt.delivered == 0  # nobody is notified by a publish


def test_one_article_and_one_failure_parse_as_lists():
    one = normalize(
        _event(
            {
                "publish_id": 7,
                "publish_status": 0,
                "article_id": "x",
                "article_detail": {"count": 1, "item": {"idx": 1, "article_url": "u"}},
            }
        )
    )
    assert one.payload["article_urls"] == ["u"]
    failed = normalize(_event({"publish_id": 8, "publish_status": 2, "fail_idx": [1, 2]}))
    receipt = parse_receipt(failed.kind, failed.payload)
    assert receipt is not None and receipt.status == "failed" and receipt.failed_items == (1, 2)
    single = normalize(_event({"publish_id": 9, "publish_status": 4, "fail_idx": 3}))
    assert single.payload["fail_idx"] == [3]


def test_the_same_publish_reported_twice_has_one_dedup_key_and_two_publishes_two():
    first = normalize(_event({"publish_id": 1, "publish_status": 0}))
    again = normalize(_event({"publish_id": 1, "publish_status": 0}))
    other = normalize(_event({"publish_id": 2, "publish_status": 0}))
    assert first.dedup_key == again.dedup_key != other.dedup_key


@given(
    st.dictionaries(
        st.sampled_from(["publish_id", "publish_status", "article_id", "fail_idx"]),
        st.text(
            alphabet=st.characters(codec="utf-8", exclude_categories=["Cs", "Cc"]), max_size=20
        ),
    )
)
def test_a_malformed_publish_report_is_stored_not_refused(info):
    incoming = normalize(_event(info))
    receipt = parse_receipt(incoming.kind, incoming.payload)
    assert receipt is not None and receipt.status in ("posted", "pending", "failed")
