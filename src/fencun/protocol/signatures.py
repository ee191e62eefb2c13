"""WeChat's SHA-1 request signatures, compared in constant time."""

from __future__ import annotations

import hashlib
import hmac

from fencun.protocol.errors import BadSignature, StaleTimestamp

#: WeChat's clock and ours may differ; outside this window a request is a replay.
TIMESTAMP_WINDOW_SECONDS = 300


def sign(*parts: str) -> str:
    """SHA-1 hex digest of the parts sorted and concatenated (token, timestamp, nonce[, encrypt])."""
    return hashlib.sha1("".join(sorted(parts)).encode("utf-8")).hexdigest()


def check_signature(expected_parts: tuple[str, ...], given: str) -> None:
    """Raise :class:`BadSignature` unless ``given`` is the signature of the parts."""
    if not given or not hmac.compare_digest(sign(*expected_parts).encode(), given.encode()):
        raise BadSignature("signature does not match")


def check_timestamp(timestamp: str, now: float) -> int:
    """Return the timestamp as seconds; raise :class:`StaleTimestamp` outside ±5 minutes of ``now``."""
    try:
        value = int(timestamp)
    except (TypeError, ValueError):
        raise StaleTimestamp("timestamp is not an integer") from None
    if abs(now - value) > TIMESTAMP_WINDOW_SECONDS:
        raise StaleTimestamp("timestamp outside the allowed window")
    return value
