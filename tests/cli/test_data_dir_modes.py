"""The data directory holds the database and the secret key: only its owner may read it."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX modes")

PRIVATE_FILES = ("fencun.sqlite3", "queue.sqlite3", "secret_key")


def _fencun(data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Run the console script on its own SQLite database, under the usual 022 umask."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_URL", "FENCUN_", "WECHAT_"))}
    env["FENCUN_DATA_DIR"] = str(data_dir)
    return subprocess.run(  # noqa: S603 - our own interpreter and module
        [sys.executable, "-m", "fencun.cli.main", *args],
        env=env, capture_output=True, text=True, timeout=120, check=False,
        preexec_fn=lambda: os.umask(0o022),  # noqa: PLW1509 - single-threaded test process
    )


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_a_fresh_data_dir_is_owner_only(tmp_path):
    data_dir = tmp_path / "fresh"
    result = _fencun(data_dir, "campaign", "list")
    assert result.returncode == 0, result.stderr
    assert _mode(data_dir) == 0o700
    for name in PRIVATE_FILES:
        assert _mode(data_dir / name) == 0o600, name
    assert "0700" not in result.stderr  # nothing was loose, so nothing to tell


def test_a_loose_existing_data_dir_is_tightened_with_one_notice(tmp_path):
    data_dir = tmp_path / "loose"
    assert _fencun(data_dir, "campaign", "list").returncode == 0
    data_dir.chmod(0o755)
    for name in PRIVATE_FILES:
        (data_dir / name).chmod(0o644)
    wal = data_dir / "fencun.sqlite3-wal"
    wal.touch(mode=0o644)
    wal.chmod(0o644)

    result = _fencun(data_dir, "campaign", "list")

    assert result.returncode == 0, result.stderr
    assert _mode(data_dir) == 0o700
    for name in PRIVATE_FILES:
        assert _mode(data_dir / name) == 0o600, name
    if wal.exists():  # SQLite may have checkpointed it away on close
        assert _mode(wal) == 0o600
    notices = [line for line in result.stderr.splitlines() if "0700" in line]
    assert len(notices) == 1, result.stderr
    assert str(data_dir) in notices[0]
