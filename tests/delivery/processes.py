"""Worker processes for the reliability tests: the real CLI against the test database."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path
from urllib.parse import quote

from django.db import connection


def database_url() -> str:
    """The URL of the database the tests run on (the test database, not the real one)."""
    s = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{Path(s['NAME']).resolve()}"
    auth = quote(s["USER"] or "")
    if s.get("PASSWORD"):
        auth += ":" + quote(s["PASSWORD"])
    host = s.get("HOST") or "127.0.0.1"
    port = s.get("PORT") or 5432
    return f"postgresql://{auth}@{host}:{port}/{s['NAME']}"


def environment(api_base: str, data_dir: Path, *, lease_s: float = 1.5, queue_url: str = "") -> dict:
    env = dict(os.environ)
    env.update(
        DATABASE_URL=database_url(),
        WECHAT_API_BASE=api_base,
        FENCUN_DATA_DIR=str(data_dir),
        FENCUN_OUTBOX_LEASE_S=str(lease_s),
    )
    if queue_url:
        env["FENCUN_QUEUE_URL"] = queue_url
        # A queue of these processes' own: tests running alongside on the same Redis
        # neither take their tasks nor flush them.
        env["FENCUN_QUEUE_NAME"] = f"{os.environ.get('FENCUN_QUEUE_NAME') or 'fencun'}-{uuid.uuid4().hex[:8]}"
    else:
        env.pop("FENCUN_QUEUE_URL", None)
    return env


def start(args: list[str], env: dict) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "fencun.cli.main", *args],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
