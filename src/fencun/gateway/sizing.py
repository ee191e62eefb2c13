"""How many web processes serve the callbacks on this machine: shared by ``fencun serve``
and the gateway benchmark, so both measure the same server."""

from __future__ import annotations

import os


def default_workers(database_url: str | None = None) -> int:
    """Server processes for this machine: one per core on SQLite (the callbacks' writes go
    to the one writer process anyway), two per core on PostgreSQL."""
    cores = os.cpu_count() or 1
    url = os.environ.get("DATABASE_URL", "") if database_url is None else database_url
    return max(2, cores if not url else cores * 2)
