"""Labels and claims: the 广告 mark, prices and free shipping against the named products,
and the AI-generated label. Pure text helpers; the lint turns them into findings.

Words and sources live in ``data/ad_label.json``, ``data/claims.json`` and
``data/ai_labels.json``.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from functools import cache
from typing import Any

from fencun.content import rules_data

#: A clause ends at these; context words are looked for within the clause only.
CLAUSE_BREAK = re.compile(r"[，。！？；,;!?\n]")
#: How many characters (spaces aside) before an amount are read for a not-a-selling-price word.
CONTEXT_BEFORE = 6
#: How many characters after an amount are read for a not-a-selling-price word.
CONTEXT_AFTER = 4

_NUM = r"\d{1,3}(?:,\d{3})+(?:\.\d{1,2})?|\d+(?:\.\d{1,2})?"


def ad_label() -> dict[str, Any]:
    return rules_data.load("ad_label.json")


def claims() -> dict[str, Any]:
    return rules_data.load("claims.json")


def ai_labels() -> dict[str, Any]:
    return rules_data.load("ai_labels.json")


def _alternation(words: list[str]) -> str:
    return "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True))


@cache
def _price_pattern() -> re.Pattern[str]:
    data = claims()
    cues = _alternation(data["price_cues"]["items"])
    not_yuan = _alternation([w[1:] for w in data["yuan_words"]["items"] if len(w) > 1])
    not_units = _alternation(data["not_price_after_number"]["items"])
    yuan = rf"(?:元(?!{not_yuan})|块钱)"
    return re.compile(
        # 1. a cue, then the number (with or without ¥ or 元): 到手价 299, 仅需 ¥299 元
        rf"(?P<cue>{cues})\s*[:：]?\s*[¥￥]?\s*(?P<n1>{_NUM})(?P<w1>\s*万)?"
        rf"(?:\s*{yuan})?(?![\d.,]|\s*(?:{not_units}))"
        # 2. ¥ or ￥ before the number: ¥4,299
        rf"|[¥￥]\s*(?P<n2>{_NUM})(?P<w2>\s*万)?(?:\s*{yuan})?"
        # 3. 元 or 块 after the number: 299 元, 1.2万元
        rf"|(?<![0-9A-Za-z.,])(?P<n3>{_NUM})(?P<w3>\s*万)?\s*{yuan}"
    )


@dataclass(frozen=True)
class PriceMention:
    """An amount in the text that claims what something costs: ``value`` in yuan,
    ``unit`` the precision the text writes it to (1, 0.1, 0.01, or 1000 for 1.2万)."""

    start: int
    end: int
    value: Decimal
    unit: Decimal
    cued: bool


def _amount(raw: str, wan: bool) -> tuple[Decimal, Decimal]:
    digits = raw.replace(",", "")
    value = Decimal(digits)
    decimals = len(digits.split(".")[1]) if "." in digits else 0
    unit = Decimal(1).scaleb(-decimals)
    if wan:
        value, unit = value * 10000, unit * 10000
    return value, unit


def price_mentions(text: str) -> Iterator[PriceMention]:
    """Every amount in ``text`` written as a price (¥, ￥, 元, 块钱 or after a price cue such
    as 到手价 or 仅需), except those the context marks as something other than what a
    product costs (原价, 满…减, 券, 运费, 定金…) and zero amounts."""
    data = claims()
    before = data["not_selling_price_before"]["items"]
    after = data["not_selling_price_after"]["items"]
    for m in _price_pattern().finditer(text):
        index = next(i for i in (1, 2, 3) if m.group(f"n{i}") is not None)
        value, unit = _amount(m.group(f"n{index}"), m.group(f"w{index}") is not None)
        if value == 0:
            continue
        cued = m.group("cue") is not None
        # After a cue (到手价, 仅需) the amount is what the buyer pays, whatever precedes it.
        raw_head = text[max(0, m.start() - 2 * CONTEXT_BEFORE) : m.start()]
        head = "" if cued else re.sub(r"\s+", "", _clause_tail(raw_head))[-CONTEXT_BEFORE:]
        tail = _clause_head(text[m.end() : m.end() + CONTEXT_AFTER]).lstrip()
        if any(w in head for w in before) or any(tail.startswith(w) for w in after):
            continue
        yield PriceMention(m.start(), m.end(), value, unit, cued)


def _clause_tail(text: str) -> str:
    parts = CLAUSE_BREAK.split(text)
    return parts[-1]


def _clause_head(text: str) -> str:
    return CLAUSE_BREAK.split(text)[0]


def price_matches(mention: PriceMention, price: Decimal) -> bool:
    """The product's price, rounded half up to the precision the text uses, is the amount."""
    try:
        if not price.is_finite():
            return False
        if price == mention.value:
            return True
        steps = (price / mention.unit).to_integral_value(rounding=ROUND_HALF_UP)
        return bool(steps * mention.unit == mention.value)
    except (InvalidOperation, ArithmeticError):
        return False


def yuan(price: Decimal) -> str:
    """¥4,299 or ¥19.90: the price as a reader writes it."""
    try:
        if not price.is_finite():
            return f"¥{price}"
        if price == price.to_integral_value():
            return f"¥{int(price):,}"
        return f"¥{price:,.2f}"
    except (InvalidOperation, ArithmeticError, ValueError):
        return f"¥{price}"


def free_shipping_claims(text: str) -> Iterator[tuple[int, int]]:
    """Spans of 包邮 / 免运费 … that claim free shipping (not 不包邮)."""
    data = claims()
    words = _alternation(data["free_shipping"]["items"])
    negations = data["free_shipping_negations"]["items"]
    for m in re.finditer(words, text):
        head = text[max(0, m.start() - 3) : m.start()]
        if any(head.endswith(n) for n in negations):
            continue
        yield m.start(), m.end()


def _normalised(text: str) -> str:
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", text)).casefold()


@cache
def _ai_element_pattern() -> re.Pattern[str]:
    elements = ai_labels()["elements"]
    ai = _alternation([_normalised(w) for w in elements["ai"]])
    generated = _alternation([_normalised(w) for w in elements["generated"]])
    gap = int(elements["max_gap"])
    return re.compile(rf"(?:{ai})[^，。！？；,.;!?\n]{{0,{gap}}}?(?:{generated})")


def has_ai_label(text: str) -> bool:
    """Whether ``text`` carries an explicit AI-generated label (AI生成, 本内容由人工智能生成…),
    ignoring spaces, case and full-width forms."""
    if not text:
        return False
    flat = _normalised(text)
    if any(_normalised(label) in flat for label in ai_labels()["labels"]["items"]):
        return True
    return _ai_element_pattern().search(flat) is not None


def has_ad_mark(text: str) -> bool:
    return any(mark in text for mark in ad_label()["marks"]["items"])
