"""jieba segmentation, loaded once and quietly (its first load builds a cache)."""

from __future__ import annotations

import logging
import threading
from functools import lru_cache
from typing import Any

_lock = threading.Lock()


@lru_cache(maxsize=1)
def _tokenizer() -> Any:
    with _lock:
        import jieba

        # jieba logs "Building prefix dict…" to stderr at DEBUG/INFO on first use.
        jieba.setLogLevel(logging.WARNING)
        logging.getLogger("jieba").setLevel(logging.WARNING)
        tokenizer = jieba.Tokenizer()
        tokenizer.initialize()
        return tokenizer


def tokens(text: str) -> list[tuple[str, int, int]]:
    """Words of ``text`` as (word, start, end) character offsets."""
    if not text:
        return []
    return list(_tokenizer().tokenize(text))


def word_end(text: str, start: int, minimum_end: int) -> int:
    """End of the jieba word that covers ``start``, at least ``minimum_end``."""
    for _word, s, e in tokens(text):
        if s <= start < e:
            return max(e, minimum_end)
    return minimum_end
