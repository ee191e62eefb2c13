"""The orders webhook: its secret path and the HMAC-SHA256 signature of its body.

Both come from ``FENCUN_ORDER_WEBHOOK_SECRET`` when set, otherwise they are derived
from the installation's secret key, so the webhook works with no configuration;
``fencun import-orders --webhook`` prints the URL path and the signing secret (on
the terminal that asked, never in a log).
"""

from __future__ import annotations

import hashlib
import hmac
import os

from django.conf import settings

HEADER = "X-Fencun-Signature"


def secret() -> bytes:
    configured = os.environ.get("FENCUN_ORDER_WEBHOOK_SECRET")
    if configured:
        return configured.encode()
    return hmac.new(settings.SECRET_KEY.encode(), b"fencun.orders.webhook.secret", hashlib.sha256).hexdigest().encode()


def path_secret() -> str:
    """The unguessable last segment of the webhook's URL."""
    return hmac.new(secret(), b"fencun.orders.webhook.path", hashlib.sha256).hexdigest()[:32]


def sign(body: bytes) -> str:
    """The header value for ``body``: ``sha256=<hex>``."""
    return "sha256=" + hmac.new(secret(), body, hashlib.sha256).hexdigest()


def verify(body: bytes, header: str) -> bool:
    return hmac.compare_digest(sign(body).encode(), (header or "").strip().encode())


def path_matches(candidate: str) -> bool:
    return hmac.compare_digest(path_secret().encode(), candidate.encode())
