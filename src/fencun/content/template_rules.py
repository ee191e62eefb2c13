"""How the platform shows a template message since the 2023 rules, read from
``data/template_rules.json``.

One table for the lint, the WeChat client and the sandbox: the platform drops ``first``
and ``remark``, colours and emoji, shows each field on one line and cuts it at 20
characters. :func:`outgoing` is what fencun sends (what the platform would drop, dropped
first, so nobody believes it is shown); :func:`shown` is what a follower sees.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

#: Every boundary ``str.splitlines`` knows: each breaks a line on a phone too.
LINE_BREAK = re.compile(r"[\n\r\v\f\x1c-\x1e\x85\u2028\u2029]")
#: Characters that only join or dress emoji (ZWJ, variation selectors, keycap): an emoji
#: removed leaves them behind unless they go too.
_EMOJI_JOINERS = frozenset("\u200d\ufe0e\ufe0f\u20e3")


@cache
def template_rules_table() -> dict[str, Any]:
    """The raw table: ``{name: {"value", "source", "note"}}`` plus ``about`` and dates."""
    text = (
        resources.files("fencun.content")
        .joinpath("data/template_rules.json")
        .read_text(encoding="utf-8")
    )
    data: dict[str, Any] = json.loads(text)
    return data


@dataclass(frozen=True)
class TemplateRules:
    effective: str  # ISO date the rules took effect
    field_max_chars: int
    cut_mark: str
    hidden_fields: frozenset[str]
    send_status: Mapping[str, str]  # success | user_block | system_failed -> Status

    @staticmethod
    def source(name: str) -> str:
        """The page a rule comes from."""
        return str(template_rules_table()[name]["source"])


@cache
def load_template_rules() -> TemplateRules:
    table = template_rules_table()
    return TemplateRules(
        effective=str(table["effective"]["value"]),
        field_max_chars=int(table["field_max_chars"]["value"]),
        cut_mark=str(table["cut_mark"]["value"]),
        hidden_fields=frozenset(str(f) for f in table["hidden_fields"]["value"]),
        send_status={str(k): str(v) for k, v in table["send_status"]["value"].items()},
    )


def is_emoji(ch: str) -> bool:
    cp = ord(ch)
    return (
        0x1F300 <= cp <= 0x1FAFF
        or 0x2600 <= cp <= 0x27BF
        or 0x1F000 <= cp <= 0x1F2FF
        or cp in (0x2B50, 0x2B55, 0x203C, 0x2049)
    )


def is_emoji_part(ch: str) -> bool:
    return is_emoji(ch) or ch in _EMOJI_JOINERS


def emoji_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) of each run of emoji (with their joiners) in ``text``."""
    spans: list[tuple[int, int]] = []
    for i, ch in enumerate(text):
        if not is_emoji_part(ch):
            continue
        if spans and spans[-1][1] == i:
            spans[-1] = (spans[-1][0], i + 1)
        else:
            spans.append((i, i + 1))
    return spans


def strip_emoji(text: str) -> str:
    return "".join(ch for ch in text if not is_emoji_part(ch))


def value_of(entry: Any) -> str:
    """A data entry's text: ``{"value": ..., "color": ...}`` or a plain value."""
    if isinstance(entry, Mapping):
        entry = entry.get("value", "")
    return "" if entry is None else str(entry)


def colour_of(entry: Any) -> str:
    return str(entry.get("color") or "") if isinstance(entry, Mapping) else ""


def outgoing(data: Mapping[str, Any]) -> dict[str, dict[str, str]]:
    """The ``data`` fencun sends: no hidden fields, no colours, no emoji."""
    hidden = load_template_rules().hidden_fields
    return {
        str(name): {"value": strip_emoji(value_of(entry))}
        for name, entry in data.items()
        if name not in hidden
    }


def cut(text: str) -> str:
    """``text`` as one line of at most the shown characters, as the platform cuts it."""
    rules = load_template_rules()
    line = LINE_BREAK.sub("", text)
    if len(line) <= rules.field_max_chars:
        return line
    return line[: rules.field_max_chars] + rules.cut_mark


def shown(data: Mapping[str, Any]) -> dict[str, str]:
    """What a follower sees of each field of ``data`` (hidden fields left out)."""
    return {name: cut(entry["value"]) for name, entry in outgoing(data).items()}
