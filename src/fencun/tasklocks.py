"""Locks that keep a periodic task from overlapping itself, which a killed worker cannot
leave behind for good.

huey's lock lives in the queue's storage and is released when the task returns; a worker
killed inside the task (SIGKILL, a power cut) leaves it set, and the task would never run
again. On Redis the lock therefore expires after ``LOCK_TTL_S`` (huey's
``RedisExpireHuey`` sets it with ``SET NX EX``, which every Redis version has). The
embedded queue has a single worker, which clears its locks when it starts
(``fencun worker``), since nobody else can hold them then."""

from __future__ import annotations

from typing import Any

from huey.contrib.djhuey import HUEY
from huey.storage import RedisExpireStorage

#: Far longer than any locked task runs (each takes seconds to a minute), so a lock
#: expires only after its holder is gone; until then the task is skipped, not repeated.
LOCK_TTL_S = 15 * 60


def lock_task(name: str) -> Any:
    """``huey.lock_task(name)``, expiring after ``LOCK_TTL_S`` where the queue can."""
    ttl = LOCK_TTL_S if isinstance(HUEY.storage, RedisExpireStorage) else None
    return HUEY.lock_task(name, ttl)
