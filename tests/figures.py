"""Figures of the fault and fuzz runs (kills survived, events lost or duplicated, inputs
tried), kept when ``FENCUN_FIGURES`` names a file: one JSON object per line, read into
RELIABILITY.md."""

from __future__ import annotations

import json
import os
import time

from tests.conftest import TEST_SIZE, is_postgres


def record(suite: str, **figures: object) -> None:
    path = os.environ.get("FENCUN_FIGURES")
    if not path:
        return
    line = {"suite": suite, "database": "postgresql" if is_postgres() else "sqlite",
            "size": TEST_SIZE, "at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), **figures}
    with open(path, "a", encoding="utf-8") as out:
        out.write(json.dumps(line, ensure_ascii=False) + "\n")
