"""``fencun serve``'s embedded worker ends with the server, however the server ends."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest
from tests.conftest import is_postgres

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _ignore_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _start_serve(data_dir: Path, port: int, database_url: str | None = None) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_URL", "FENCUN_", "WECHAT_"))}
    env["FENCUN_DATA_DIR"] = str(data_dir)
    if database_url:
        env["DATABASE_URL"] = database_url
    env["FENCUN_ADMIN_PASSWORD"] = "a-long-password-1"  # the first start's login, not asked for
    return subprocess.Popen(  # noqa: S603 - our own interpreter and module
        [sys.executable, "-m", "fencun.cli.main", "serve", "--port", str(port), "--workers", "1"],
        env=env, stdout=subprocess.DEVNULL, stderr=(data_dir / "serve.err").open("wb"),
        # Started with SIGINT ignored, as a shell starts a script's background jobs (CI's
        # PostgreSQL pass is one): serve must still stop on it.
        preexec_fn=_ignore_sigint,
    )


def _embedded_worker(server: subprocess.Popen[bytes], timeout: float = 60) -> psutil.Process:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for child in psutil.Process(server.pid).children():
            try:
                if child.cmdline()[-1:] == ["worker"]:
                    return child
            except psutil.NoSuchProcess:
                continue
        assert server.poll() is None, "fencun serve exited"
        time.sleep(0.05)
    raise AssertionError("fencun serve started no worker")


def _gone(process: psutil.Process, timeout: float = 10) -> bool:
    try:
        process.wait(timeout=timeout)
    except psutil.TimeoutExpired:
        return False
    return True


def _serving(server: subprocess.Popen[bytes], port: int, timeout: float = 90) -> None:
    """Wait until the server accepts connections (gunicorn has taken over its signals)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert server.poll() is None, "fencun serve exited"
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
            return
        time.sleep(0.05)
    raise AssertionError("fencun serve never listened")


@pytest.fixture
def database_url(request) -> str | None:
    """The run's database for serve: its own SQLite file in the data dir, or on a
    PostgreSQL run the test database."""
    if not is_postgres():
        return None
    request.getfixturevalue("transactional_db")
    from tests.delivery.processes import database_url as test_database_url

    return test_database_url()


@pytest.mark.parametrize(
    ("sig", "when"),
    [
        (signal.SIGKILL, "starting"),
        (signal.SIGTERM, "starting"),
        # Ctrl-C before gunicorn has its signals (just after the worker started) and after.
        (signal.SIGINT, "starting"),
        (signal.SIGINT, "serving"),
    ],
    ids=lambda v: getattr(v, "name", v),
)
def test_the_embedded_worker_dies_with_the_server(tmp_path, database_url, sig, when):
    port = _free_port()
    server = _start_serve(tmp_path, port, database_url)
    try:
        worker = _embedded_worker(server)
    except AssertionError as exc:
        raise AssertionError(f"{exc}: {(tmp_path / 'serve.err').read_text()[-2000:]}") from None
    try:
        if when == "serving":
            _serving(server, port)
        server.send_signal(sig)
        server.wait(timeout=60)  # a graceful stop may wait for its workers
        assert _gone(worker), f"worker {worker.pid} outlived the server ({sig.name})"
    finally:
        for process in (server, worker):
            with contextlib.suppress(ProcessLookupError):
                os.kill(process.pid, signal.SIGKILL)
