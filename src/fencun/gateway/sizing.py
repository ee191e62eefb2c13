"""How many web processes serve the callbacks on this machine: shared by ``fencun serve``
and the gateway benchmark, so both measure the same server."""

from __future__ import annotations

import os


def default_workers() -> int:
    """Server processes for this machine: one per core (at least two). Each is an event
    loop that holds any number of waiting callbacks, and their writes go to the one
    writer process, so more processes than cores only take turns at the cores (measured
    on two cores: 2,510 callbacks/s with one, 3,950-4,150 with two or three; on
    PostgreSQL 3,548 with two, 3,183 with four)."""
    return max(2, os.cpu_count() or 1)
