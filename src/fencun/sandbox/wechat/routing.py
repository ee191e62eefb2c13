"""A route: the family function answering one ``/cgi-bin/...`` path, and how it is called."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from fencun.sandbox.wechat.platform import Platform


@dataclass(frozen=True)
class Route:
    """``handler(platform, query, body)``: ``body`` is the parsed JSON object when
    ``json_body``, else ``(raw bytes, content type)``. ``with_ok`` adds ``errcode: 0``."""

    handler: Callable[[Platform, dict[str, str], Any], dict[str, Any]]
    json_body: bool = True
    with_ok: bool = True
