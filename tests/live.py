"""A real ``fencun serve`` process for the tests that need real HTTP and real processes
(the schema fuzz run, the gateway kill run): its own data directory, the run's test
database (SQLite or PostgreSQL), emptied when the module is done."""

from __future__ import annotations

import contextlib
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import httpx
import psycopg
from django.conf import settings
from psycopg import sql
from tests.conftest import AES_KEY, APP_ID, TOKEN


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def test_database(django_db_blocker) -> Iterator[str]:  # type: ignore[no-untyped-def]
    """The URL of the run's test database (SQLite or PostgreSQL, migrated once for the
    run) for served processes; emptied afterwards, as a transactional test leaves it, so
    the tests after find it empty. Ask for ``django_db_setup`` beside it."""
    from django.core.management import call_command
    from tests.delivery.processes import database_url

    try:
        yield database_url()
    finally:
        with django_db_blocker.unblock():
            call_command("flush", interactive=False, verbosity=0)


@contextlib.contextmanager
def empty_postgres_database() -> Iterator[str]:
    """The URL of a new, empty database on the run's PostgreSQL server, dropped afterwards
    (with any connection left to it): for processes that must start from a bare database,
    as an installation does, rather than from the run's migrated test database."""
    server = settings.DATABASES["default"]
    coordinates = {"host": server.get("HOST") or "127.0.0.1", "port": server.get("PORT") or 5432,
                   "user": server.get("USER") or None, "password": server.get("PASSWORD") or None}
    name = f"fencun_bare_{secrets.token_hex(6)}"
    with psycopg.connect(dbname="postgres", autocommit=True, **coordinates) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        auth = quote(coordinates["user"] or "")
        if coordinates["password"]:
            auth += ":" + quote(coordinates["password"])
        yield f"postgresql://{auth}@{coordinates['host']}:{coordinates['port']}/{name}"
    finally:
        with psycopg.connect(dbname="postgres", autocommit=True, **coordinates) as admin:
            admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def environment(data_dir: Path, database_url: str, **extra: str) -> dict[str, str]:
    """The environment of a served process: the test account's WeChat settings (safe mode),
    the embedded queue, and the given database."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_URL", "FENCUN_QUEUE", "WECHAT_"))}
    env.update(FENCUN_DATA_DIR=str(data_dir), WECHAT_APP_ID=APP_ID, WECHAT_TOKEN=TOKEN,
               WECHAT_AES_KEY=AES_KEY, WECHAT_APP_SECRET="live-secret",
               FENCUN_ADMIN_PASSWORD="live-admin-Pa55word-4-tests")
    env["DATABASE_URL"] = database_url
    env.update(extra)
    return env


def fencun(env: dict[str, str], *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 - our own interpreter and module
        [sys.executable, "-m", "fencun.cli.main", *args],
        env=env, capture_output=True, text=True, timeout=timeout, check=False,
    )


@dataclass
class Server:
    base: str
    process: subprocess.Popen[bytes]
    env: dict[str, str]
    log: Path

    def output(self) -> str:
        """What the server wrote (gunicorn's and Django's log: a 500 leaves its traceback)."""
        return self.log.read_text("utf-8", errors="replace")

    def kill(self) -> None:
        """SIGKILL the server, its gunicorn workers and its embedded worker at once (its
        whole process group), as a power cut would: nothing of it runs a line more."""
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=30)

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.kill()


def start(env: dict[str, str], workers: int = 2, timeout: float = 90, port: int = 0) -> Server:
    """``fencun serve`` on ``port`` (a free one if 0), once it answers, in a process group
    of its own (see :meth:`Server.kill`)."""
    port = port or free_port()
    log = Path(env["FENCUN_DATA_DIR"]) / f"serve-{port}.log"
    with open(log, "wb") as out:  # a file, not a pipe: a pipe nobody reads fills and stalls the server
        process = subprocess.Popen(  # noqa: S603 - our own interpreter and module
            [sys.executable, "-m", "fencun.cli.main", "serve", "--port", str(port), "--workers", str(workers)],
            env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
        )
    server = Server(f"http://127.0.0.1:{port}", process, env, log)
    deadline = time.monotonic() + timeout
    while True:
        try:
            httpx.get(f"{server.base}/api/openapi.json", timeout=2)
            return server
        except httpx.HTTPError:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                raise AssertionError(server.output()) from None
            time.sleep(0.1)
