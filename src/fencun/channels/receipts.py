"""Receipts from every channel, read through each channel's own parser."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fencun.channels.interface import Receipt
from fencun.channels.wechat import channel as wechat
from fencun.channels.wecom import channel as wecom
from fencun.channels.wecom.tasks import MASS_RESULT, MOMENT_RESULT

#: Event kinds that carry a receipt.
KINDS = frozenset({"masssendjobfinish", "publishjobfinish", MASS_RESULT, MOMENT_RESULT})


def parse_receipt(kind: str, payload: Mapping[str, Any]) -> Receipt | None:
    """The receipt an event of ``kind`` carries, or None."""
    if kind not in KINDS:
        return None
    return wechat.parse_receipt(kind, payload) or wecom.parse_receipt(kind, payload)
