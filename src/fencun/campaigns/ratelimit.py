"""The platform's per-minute API rate, shared by all workers through the database.

``take(app_id, api, limit)`` counts one call in the current clock minute if fewer than
``limit`` were made, atomically (a conditional UPDATE), and otherwise says how many
seconds to wait for the next minute. WeChat counts mass-send calls per minute
(``mass_api_requests_per_minute`` in the engine's platform limits table).
"""

from __future__ import annotations

import time

from django.db import IntegrityError, transaction
from django.db.models import F

from fencun.campaigns.models import ApiRateWindow


def take(app_id: str, api: str, limit: int, now: float | None = None) -> float:
    """0.0 if a call may be made now (and it is counted), else seconds until it may."""
    now = time.time() if now is None else now
    minute = int(now // 60)
    wait = (minute + 1) * 60 - now
    if limit <= 0:
        return wait
    for _ in range(2):
        counted = ApiRateWindow.objects.filter(
            app_id=app_id, api=api, minute=minute, calls__lt=limit
        ).update(calls=F("calls") + 1)
        if counted:
            return 0.0
        if ApiRateWindow.objects.filter(app_id=app_id, api=api, minute=minute).exists():
            return wait
        try:
            with transaction.atomic():
                ApiRateWindow.objects.create(app_id=app_id, api=api, minute=minute, calls=1)
            return 0.0
        except IntegrityError:
            continue  # another worker created it first: count against its row
    return wait


def forget_before(now: float | None = None) -> int:
    """Delete windows older than an hour; returns how many."""
    now = time.time() if now is None else now
    deleted, _ = ApiRateWindow.objects.filter(minute__lt=int(now // 60) - 60).delete()
    return deleted
