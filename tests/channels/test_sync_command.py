"""``fencun sync`` as a user runs it, against a running sandbox."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from tests.conftest import sqlite_pass_only


def _sync(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "fencun.cli.main", "sync"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


@sqlite_pass_only
@pytest.mark.slow
def test_sync_command_stops_on_a_fault_keeps_progress_and_finishes_later(make_sandbox, tmp_path):
    box = make_sandbox(followers=1_500, user_page_size=1_000)
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "FENCUN_QUEUE_URL")}
    env.update(
        FENCUN_DATA_DIR=str(tmp_path),
        WECHAT_APP_ID=box.config.app_id,
        WECHAT_APP_SECRET=box.config.app_secret,
        WECHAT_TOKEN=box.config.token,
        WECHAT_AES_KEY=box.config.aes_key,
        WECHAT_API_BASE=box.api_base,
    )
    box.set_faults([{"path": "/cgi-bin/user/info/batchget", "errcode": 45009}])
    failed = _sync(env)
    assert failed.returncode == 1
    assert "进度已保存" in failed.stderr
    assert box.config.app_secret not in failed.stdout + failed.stderr
    box.clear_faults()
    done = _sync(env)
    assert done.returncode == 0, done.stderr
    assert "1500 位粉丝" in done.stdout
    again = _sync(env)
    assert "新记录 0 条" in again.stdout


def test_sync_command_without_an_account_says_so(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("WECHAT_", "DATABASE_URL"))}
    env["FENCUN_DATA_DIR"] = str(tmp_path)
    result = _sync(env)
    assert result.returncode == 2 and "找不到公众号" in result.stderr
