"""One access_token holder per appid across processes, through the database lease."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest
from tests.conftest import requires_postgres

pytestmark = pytest.mark.slow

WORKERS = 4
ROOT = Path(__file__).resolve().parents[2]


def _run_workers(box, env: dict[str, str], store: str = "db") -> set[str]:
    start_at = time.time() + 3.0  # every process imported and waiting before the first call
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                str(Path(__file__).with_name("token_worker.py")),
                box.api_base,
                box.config.app_id,
                box.config.app_secret,
                str(start_at),
                store,
            ],
            env={**env, "PYTHONPATH": str(ROOT)},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(WORKERS)
    ]
    tokens = set()
    for proc in procs:
        out, err = proc.communicate(timeout=60)
        assert proc.returncode == 0, err
        assert box.config.app_secret not in out + err
        tokens.add(out.strip())
    return tokens


def _sqlite_env(data_dir: Path) -> dict[str, str]:
    """A migrated SQLite data dir, ready before the processes start (they would race)."""
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env["FENCUN_DATA_DIR"] = str(data_dir)
    subprocess.run(
        [sys.executable, "-m", "fencun.manage", "migrate", "-v", "0"], env=env, check=True
    )
    return env


def test_processes_refreshing_at_once_fetch_one_token_sqlite(sandbox, tmp_path):
    tokens = _run_workers(sandbox, _sqlite_env(tmp_path))
    assert len(tokens) == 1
    assert sandbox.state()["token_fetches"] == 1


@requires_postgres
@pytest.mark.django_db(transaction=True)
def test_processes_refreshing_at_once_fetch_one_token_postgres(sandbox):
    from django.db import connection

    url = urlsplit(os.environ["DATABASE_URL"])
    test_url = urlunsplit(url._replace(path="/" + connection.settings_dict["NAME"]))
    tokens = _run_workers(sandbox, {**os.environ, "DATABASE_URL": test_url})
    assert len(tokens) == 1
    assert sandbox.state()["token_fetches"] == 1


@pytest.mark.skipif(
    not os.environ.get("FENCUN_QUEUE_URL", "").startswith("redis"),
    reason="needs Redis: set FENCUN_QUEUE_URL=redis://…",
)
def test_processes_refreshing_at_once_fetch_one_token_redis(make_sandbox, tmp_path):
    import redis

    box = make_sandbox(app_id="wx" + os.urandom(8).hex())  # a key no earlier run left behind
    url = os.environ["FENCUN_QUEUE_URL"]
    env = _sqlite_env(tmp_path)
    try:
        tokens = _run_workers(box, env, store=url)
    finally:
        redis.Redis.from_url(url).delete(f"fencun:wechat:token:{box.config.app_id}")
    assert len(tokens) == 1
    assert box.state()["token_fetches"] == 1
