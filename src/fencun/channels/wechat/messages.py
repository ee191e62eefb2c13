"""Message bodies in WeChat's JSON shape, for mass, preview and customer-service sends.

Each helper returns the ``msgtype`` plus its content object; the client adds the
recipients. Mass sends of images take the ``images.media_ids`` form; customer-service
images take ``image.media_id`` (:func:`custom_image`).
"""

from __future__ import annotations

from typing import Any

Message = dict[str, Any]


def text(content: str) -> Message:
    """A text message (mass, preview or customer service)."""
    return {"msgtype": "text", "text": {"content": content}}


def news(media_id: str) -> Message:
    """An article by its draft's ``media_id`` (``add_draft``),
    for mass sends and previews (``mpnews``). A mass send takes the draft out of the box."""
    return {"msgtype": "mpnews", "mpnews": {"media_id": media_id}}


def images(media_ids: list[str], recommend: str = "") -> Message:
    """A mass image message of up to 20 images uploaded as permanent media."""
    body: dict[str, Any] = {"media_ids": list(media_ids)}
    if recommend:
        body["recommend"] = recommend
    return {"msgtype": "image", "images": body}


def voice(media_id: str) -> Message:
    return {"msgtype": "voice", "voice": {"media_id": media_id}}


def custom_image(media_id: str) -> Message:
    """A customer-service image message."""
    return {"msgtype": "image", "image": {"media_id": media_id}}


def custom_link_news(title: str, description: str, url: str, picurl: str = "") -> Message:
    """A customer-service news message with one external link (the ``news`` type)."""
    article = {"title": title, "description": description, "url": url, "picurl": picurl}
    return {"msgtype": "news", "news": {"articles": [article]}}
