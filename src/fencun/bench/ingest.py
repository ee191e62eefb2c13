"""``fencun bench ingest``: signed callbacks stored per second, without the network.

The product's own cost of taking a callback in: threads of one process call the WSGI
application (``fencun.wsgi``) directly with the gateway benchmark's pre-signed traffic
(texts, CLICK and LOCATION events, half in safe mode, 10 % WeChat retries): signature
and timestamp checks, decryption, parsing, normalising, the reply, and the durable,
de-duplicated write of the event through the group commit (the process's own writer
thread: the inbox, then the event log). No HTTP server and no socket,
so the figure is the ceiling one server process can reach; ``fencun bench gateway``
measures the whole path. The database is a fresh SQLite file in a temporary data
directory (``DATABASE_URL`` is ignored: a benchmark never writes to the configured one).
"""

from __future__ import annotations

import json
import os
import platform
import tempfile
import threading
import time
from typing import Any
from urllib.parse import urlsplit

import typer

from fencun.bench.gateway import AES_KEY, APP_ID, TOKEN
from fencun.language import gettext

# The Django apps are imported inside the functions: the benchmark sets Django up first,
# on a data dir and settings of its own.


def _environ(raw: bytes) -> dict[str, Any]:
    """A WSGI environ for one raw HTTP/1.1 request of the load generator."""
    from fencun.testing.wsgi import environ

    head, _, body = raw.partition(b"\r\n\r\n")
    method, target, _ = head.split(b"\r\n", 1)[0].decode().split(" ", 2)
    url = urlsplit(target)
    return environ(method, url.path, url.query, body)


def run(callbacks: int, threads: int, seed: int = 1) -> dict[str, Any]:
    """Drive ``callbacks`` requests through the application from ``threads`` threads."""
    os.environ.pop("DATABASE_URL", None)
    os.environ.update(
        FENCUN_DATA_DIR=tempfile.mkdtemp(prefix="fencun-bench-ingest-"),
        WECHAT_APP_ID=APP_ID,
        WECHAT_TOKEN=TOKEN,
        WECHAT_AES_KEY=AES_KEY,
        WECHAT_ENCRYPT_MODE="compatible",
    )
    from fencun.datadir import ensure_migrated, setup_django

    setup_django()
    ensure_migrated()
    from fencun.audience.models import Event
    from fencun.bench.loadgen import build_requests
    from fencun.gateway import inbox
    from fencun.wsgi import application

    requests = build_requests(callbacks, TOKEN, AES_KEY, APP_ID, seed)
    latencies: list[float] = []
    statuses: dict[str, int] = {}
    acked: set[str] = set()
    lock = threading.Lock()
    cursor = iter(range(len(requests)))

    def worker() -> None:
        while True:
            with lock:
                i = next(cursor, None)
            if i is None:
                return
            raw, identity = requests[i]
            environ = _environ(raw)
            status: list[str] = []
            started = time.perf_counter()
            b"".join(application(environ, lambda s, _h, _e=None, status=status: status.append(s)))
            elapsed = time.perf_counter() - started
            code = status[0].split(" ", 1)[0]
            with lock:
                latencies.append(elapsed)
                statuses[code] = statuses.get(code, 0) + 1
                if code == "200":
                    acked.add(identity)

    # One warm request outside the clock (imports, the account cache, the writer thread);
    # it is the first timed request too, so its event is expected and stored once.
    b"".join(application(_environ(requests[0][0]), lambda *_: None))
    started = time.perf_counter()
    pool = [threading.Thread(target=worker) for _ in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    seconds = time.perf_counter() - started
    latencies.sort()
    # Acknowledged means in the inbox; the process's writer folds the rest once idle.
    waiting = inbox.waiting()
    fold_started = time.perf_counter()
    while inbox.waiting() and time.perf_counter() - fold_started < 120:
        time.sleep(0.05)
    fold_seconds = time.perf_counter() - fold_started

    def pct(p: float) -> float:
        return round(latencies[min(len(latencies) - 1, int(p * len(latencies)))] * 1000, 2)

    return {
        "benchmark": "ingest",
        "callbacks": len(latencies),
        "threads": threads,
        "seconds": round(seconds, 2),
        "callbacks_per_second": round(len(latencies) / seconds, 1),
        "p50_ms": pct(0.50),
        "p99_ms": pct(0.99),
        "statuses": dict(sorted(statuses.items())),
        "inbox_after_load": waiting,
        "fold_seconds_after_load": round(fold_seconds, 2),
        "events_expected": len(acked),
        "events_stored": Event.objects.count(),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "db": "sqlite"},
    }


def command(
    callbacks: int = typer.Option(
        20_000, "--callbacks", help=gettext("Signed callbacks to take in.")
    ),
    threads: int = typer.Option(
        16, "--threads", help=gettext("Request threads (as one gunicorn worker has).")
    ),
    as_json: bool = typer.Option(False, "--json", help=gettext("Print one JSON object.")),
) -> None:
    """Callbacks stored per second by one process, without the network."""
    if callbacks < 1 or threads < 1:
        raise typer.BadParameter(gettext("--callbacks and --threads: at least 1"))
    result = run(callbacks, threads)
    typer.echo(json.dumps(result, ensure_ascii=False, indent=None if as_json else 2))
