"""How many web processes and threads serve the callbacks on this machine: shared by
``fencun serve`` and the gateway benchmark, so both measure the same server."""

from __future__ import annotations

import os

# Callback threads mostly wait for the group commit (fencun.gateway.ingest): more threads
# per process mean larger batches, not more CPU.
THREADS_PER_WORKER = 16


def default_workers(database_url: str | None = None) -> int:
    """Server processes for this machine: one per core on SQLite (one writer at a time
    anyway, fewer processes contend less), two per core on PostgreSQL."""
    cores = os.cpu_count() or 1
    url = os.environ.get("DATABASE_URL", "") if database_url is None else database_url
    return max(2, cores if not url else cores * 2)
