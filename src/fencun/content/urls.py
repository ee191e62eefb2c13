"""Links in a message's text, as the channels rewrite them into tracked links."""

from __future__ import annotations

import re

#: An http(s) link: up to whitespace, quotes, angle brackets or CJK punctuation.
URL = re.compile(r"https?://[^\s<>\"'，。！？、；）]+", re.IGNORECASE)
