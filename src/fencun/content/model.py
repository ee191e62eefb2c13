"""Plain data for the content lint: messages, catalog entries and findings."""

from __future__ import annotations

import dataclasses
import enum
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

KINDS = ("news", "text", "image", "template")


class Severity(enum.StrEnum):
    """ERROR blocks approval; WARNING needs an acknowledgement; INFO is advice."""

    ERROR = "error"
    WARNING = "warning"
    INFO = "info"


@dataclass(frozen=True)
class ProductInfo:
    """What the lint needs to know of a catalog product; price in yuan."""

    sku: str
    name: str
    price: Decimal
    link_url: str = ""


@dataclass
class Message:
    """A message as the merchant wrote it.

    ``kind`` is ``news`` (article: title, author, digest, body), ``text``, ``image`` or
    ``template`` (service notices only). Product cards are written in the body as
    ``[[SKU]]`` or ``[[SKU ¥1999]]``; links as bare URLs or Markdown ``[text](url)``.
    A template message's ``data`` maps each template field to its text, or to
    ``{"value": ..., "color": ...}`` as the send API takes it.
    """

    kind: str = "news"
    title: str = ""
    digest: str = ""
    body: str = ""
    cover_url: str = ""
    author: str = ""
    data: dict[str, Any] = dataclasses.field(default_factory=dict)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Message:
        """Build from a JSON object; unknown keys are ignored, non-strings refused."""
        values: dict[str, str] = {}
        for name in ("kind", "title", "digest", "body", "cover_url", "author"):
            value = data.get(name, "" if name != "kind" else "news")
            if value is None:
                value = ""
            if not isinstance(value, str):
                raise ValueError(f"field {name!r} must be a string")
            values[name] = value
        if values["kind"] not in KINDS:
            raise ValueError(f"kind must be one of {', '.join(KINDS)}")
        return cls(**values, data=_template_data(data.get("data")))


def _template_data(raw: Any) -> dict[str, Any]:
    """A template's ``data``: field name to text or to ``{"value", "color"?}`` of strings."""
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise ValueError("field 'data' must be an object")
    for name, entry in raw.items():
        texts = entry.values() if isinstance(entry, dict) else (entry,)
        if not all(isinstance(t, str) for t in texts):
            raise ValueError(f"data field {name!r} must be a string or {{\"value\": string}}")
    return dict(raw)


@dataclass(frozen=True)
class Finding:
    """One problem: ``span`` is (start, end) in characters of ``field``'s text."""

    code: str
    severity: Severity
    field: str
    span: tuple[int, int]
    message_zh: str
    message_en: str
    fix_zh: str = ""
    fix_en: str = ""
    extra: dict[str, Any] = dataclasses.field(default_factory=dict, compare=False)

    def to_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "severity": self.severity.value,
            "field": self.field,
            "span": list(self.span),
            "message": {"zh-Hans": self.message_zh, "en": self.message_en},
            "fix": {"zh-Hans": self.fix_zh, "en": self.fix_en},
        }
