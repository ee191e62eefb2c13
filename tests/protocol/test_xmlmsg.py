import time

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fencun.protocol import xmlmsg
from fencun.protocol.errors import MalformedXml

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>
<xml><Content>&lol3;</Content></xml>"""

XXE = b"""<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><xml><Content>&e;</Content></xml>"""


def test_parses_flat_and_nested_fields():
    body = (
        b"<xml><ToUserName><![CDATA[gh_1]]></ToUserName><CreateTime>1</CreateTime>"
        b"<CopyrightCheckResult><Count>2</Count><ResultList><item><ArticleIdx>1</ArticleIdx></item>"
        b"<item><ArticleIdx>2</ArticleIdx></item></ResultList></CopyrightCheckResult></xml>"
    )
    parsed = xmlmsg.parse(body)
    assert parsed["ToUserName"] == "gh_1"
    assert parsed["CopyrightCheckResult"]["ResultList"]["item"] == [
        {"ArticleIdx": "1"},
        {"ArticleIdx": "2"},
    ]


@pytest.mark.parametrize("body", [BILLION_LAUGHS, XXE, b"<!doctype xml><xml/>"])
def test_dtds_and_entities_are_refused_fast(body):
    started = time.perf_counter()
    with pytest.raises(MalformedXml):
        xmlmsg.parse(body)
    assert time.perf_counter() - started < 0.5


@pytest.mark.parametrize(
    "body", [b"", b"<xml>", b"not xml", b"<root><a>1</a></root>", b"<xml></xml>", b"\xff\xfe"]
)
def test_malformed_documents_are_refused(body):
    with pytest.raises(MalformedXml):
        xmlmsg.parse(body)


def test_cdata_terminator_in_content_survives_round_trip():
    reply = xmlmsg.text_reply("o1", "gh_1", "a]]>b <c> &d", 1)
    assert xmlmsg.parse(reply.encode())["Content"] == "a]]>b <c> &d"


@given(st.binary(max_size=500))
def test_any_bytes_parse_or_raise_malformed(body):
    try:
        result = xmlmsg.parse(body)
    except MalformedXml:
        return
    assert isinstance(result, dict)


@given(
    st.dictionaries(
        st.from_regex(r"[A-Za-z][A-Za-z0-9_]{0,10}", fullmatch=True),
        st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc")), max_size=50),
        min_size=1,
        max_size=6,
    )
)
def test_build_then_parse_round_trips(fields):
    assert xmlmsg.parse(xmlmsg.build(fields).encode()) == {k: v for k, v in fields.items()}
