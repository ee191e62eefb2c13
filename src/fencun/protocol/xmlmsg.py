"""Parsing WeChat's callback XML safely and building reply XML.

DTDs and entities are refused outright (never expanded), so a billion-laughs or external
entity payload costs a string scan, not memory.
"""

from __future__ import annotations

import re
from typing import Any
from xml.etree.ElementTree import Element  # noqa: S405 - only for typing; parsing is defused

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import ParseError, fromstring

from fencun.protocol.errors import MalformedXml

_FORBIDDEN = re.compile(rb"<!(?:DOCTYPE|ENTITY)", re.IGNORECASE)


def _to_value(element: Element) -> Any:
    children = list(element)
    if not children:
        return element.text or ""
    result: dict[str, Any] = {}
    for child in children:
        value = _to_value(child)
        if child.tag in result:
            existing = result[child.tag]
            if not isinstance(existing, list):
                result[child.tag] = [existing]
            result[child.tag].append(value)
        else:
            result[child.tag] = value
    return result


def parse(body: bytes) -> dict[str, Any]:
    """Parse a ``<xml>…</xml>`` document into a dict of its children.

    Raises :class:`MalformedXml` for anything else, including any DTD or entity.
    """
    if _FORBIDDEN.search(body):
        raise MalformedXml("DTDs and entities are not accepted")
    try:
        root = fromstring(body, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except (ParseError, DefusedXmlException, ValueError, UnicodeDecodeError) as exc:
        raise MalformedXml(f"not well-formed XML: {type(exc).__name__}") from None
    if root.tag != "xml":
        raise MalformedXml("root element must be <xml>")
    value = _to_value(root)
    if not isinstance(value, dict):
        raise MalformedXml("<xml> has no fields")
    return value


def _cdata(value: str) -> str:
    # "]]>" cannot appear inside CDATA; split it across two sections.
    return "<![CDATA[" + str(value).replace("]]>", "]]]]><![CDATA[>") + "]]>"


def _element(name: str, value: Any) -> str:
    if isinstance(value, int):
        return f"<{name}>{value}</{name}>"
    if isinstance(value, dict):
        inner = "".join(_element(k, v) for k, v in value.items())
        return f"<{name}>{inner}</{name}>"
    if isinstance(value, list):
        return "".join(_element(name, v) for v in value)
    return f"<{name}>{_cdata(value)}</{name}>"


def build(fields: dict[str, Any]) -> str:
    """Build ``<xml>`` from fields: ints as numbers, strings as CDATA, dicts/lists nested."""
    return "<xml>" + "".join(_element(k, v) for k, v in fields.items()) + "</xml>"


def text_reply(to_user: str, from_user: str, content: str, create_time: int) -> str:
    """A passive text reply."""
    return build(
        {
            "ToUserName": to_user,
            "FromUserName": from_user,
            "CreateTime": create_time,
            "MsgType": "text",
            "Content": content,
        }
    )


def news_reply(
    to_user: str, from_user: str, articles: list[dict[str, str]], create_time: int
) -> str:
    """A passive news reply; ``articles`` items have title, description, picurl, url."""
    items = [
        {
            "Title": a.get("title", ""),
            "Description": a.get("description", ""),
            "PicUrl": a.get("picurl", ""),
            "Url": a.get("url", ""),
        }
        for a in articles[:8]
    ]
    return build(
        {
            "ToUserName": to_user,
            "FromUserName": from_user,
            "CreateTime": create_time,
            "MsgType": "news",
            "ArticleCount": len(items),
            "Articles": {"item": items},
        }
    )


def encrypted_envelope(encrypt: str, signature: str, timestamp: str, nonce: str) -> str:
    """The safe-mode reply wrapper around an encrypted reply."""
    return build(
        {
            "Encrypt": encrypt,
            "MsgSignature": signature,
            "TimeStamp": timestamp,
            "Nonce": nonce,
        }
    )
