"""A logging filter that keeps secrets out of every log line.

HTTP libraries repeat the full URL in their errors, and WeChat's token API takes the
AppSecret in its query string, so secrets can reach a log without anyone logging them.
"""

from __future__ import annotations

import logging
import os
import re
import threading

_QUERY_SECRET = re.compile(
    r"(?i)((?:secret|appsecret|access_token|corpsecret|token|encodingaeskey|password)=)[^&\s'\"]+"
)
_SECRET_ENV = (
    "WECHAT_APP_SECRET",
    "WECHAT_AES_KEY",
    "WECHAT_TOKEN",
    "WECOM_SECRET",
    "WECOM_AES_KEY",
    "WECOM_TOKEN",
    "WEIBO_ACCESS_TOKEN",
    "FENCUN_SECRET_KEY",
)
# Secrets opened from the database (``fencun.sealing``): they were never in the
# environment, so the filter learns them when they are opened. Bounded: access tokens
# change every two hours; the oldest are forgotten first.
_REMEMBERED_MAX = 128
_remembered: dict[str, None] = {}
_remembered_lock = threading.Lock()


def remember(value: str) -> None:
    """Mask ``value`` in every later log line (values shorter than 6 characters are not
    worth masking: they would blank out ordinary words)."""
    if len(value) < 6 or value in _remembered:
        return
    with _remembered_lock:
        _remembered[value] = None
        while len(_remembered) > _REMEMBERED_MAX:
            del _remembered[next(iter(_remembered))]


def _configured() -> list[str]:
    values = [os.environ.get(name, "") for name in _SECRET_ENV]
    values += os.environ.get("FENCUN_SECRET_KEY_FALLBACKS", "").split(",")
    return values


def redact(text: str) -> str:
    """Return ``text`` with secret query parameters and configured secret values masked."""
    text = _QUERY_SECRET.sub(r"\1***", text)
    for value in [*_configured(), *list(_remembered)]:
        if len(value) >= 6:
            text = text.replace(value, "***")
    return text


class RedactSecrets(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if record.exc_info and record.exc_info[1] is not None:
            # Formatting happens later; render the traceback now so it can be cleaned.
            formatted = logging.Formatter().formatException(record.exc_info)
            cleaned = f"{cleaned}\n{redact(formatted)}"
            record.exc_info = None
            record.exc_text = None
        if cleaned != message or record.args:
            record.msg, record.args = cleaned, None
        return True
