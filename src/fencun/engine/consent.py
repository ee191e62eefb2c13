"""A follower's own word on marketing: the keywords that opt out of it and back in.

China's Advertising Law (art. 43) asks that whoever sends electronic advertising give the
recipient a way to refuse it, and the Personal Information Protection Law (art. 24) a
convenient way to refuse marketing pushed by automated decisions. Replying ``退订`` or
``TD`` is how Chinese users refuse marketing messages (the convention of SMS marketing,
"回复TD退订"); ``订阅`` takes them back. A message opts out or in only when it is the
keyword alone (surrounding spaces and letter case aside): "这个沙发还能退订吗" is a
question, not a refusal.
"""

from __future__ import annotations

#: Replies that refuse marketing pushes from now on.
OPT_OUT_WORDS = frozenset({"退订", "td"})
#: Replies that take them back.
OPT_IN_WORDS = frozenset({"订阅"})


def consent_change(text: object) -> bool | None:
    """False: ``text`` opts out of marketing; True: it opts back in; None: neither."""
    if not isinstance(text, str):
        return None
    word = text.strip().lower()
    if word in OPT_OUT_WORDS:
        return False
    if word in OPT_IN_WORDS:
        return True
    return None
