"""``fencun bench gateway``: callbacks/s with verification, de-duplication and storage.

fencun runs as production does (``fencun serve``: uvicorn workers under gunicorn, the
callback writer process); the load comes from a separate process. The comparison points
run on the same machine with the same load, each as its own documentation serves it:
WeRoBot's bare echo app and wechatpy's echo behind Flask, both under gunicorn's threaded
workers. The runs alternate (fencun, then each comparison, ``--rounds`` times), and the
ratios compare median rates.
"""

from __future__ import annotations

import json
import secrets
import sqlite3
import statistics
import subprocess
import tempfile
import time
from typing import Any

import typer

from fencun.bench.servers import environ, free_port, python, running
from fencun.gateway.sizing import default_workers
from fencun.language import gettext

TOKEN = "benchtoken"  # noqa: S105 - a throwaway account of the benchmark
AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
APP_ID = "wxbench00000000001"
#: Threads per gunicorn worker for the comparison apps (gunicorn's gthread workers).
COMPARISON_THREADS = 16
#: name: (WSGI app, modules it needs: the ``bench`` extra)
COMPARISONS = {
    "werobot": ("fencun.bench.werobot_echo:application", ("werobot",)),
    "wechatpy_flask": ("fencun.bench.wechatpy_echo:application", ("wechatpy", "flask")),
}


def _load(port: int, seconds: float, connections: int) -> dict[str, Any]:
    out = subprocess.run(  # noqa: S603
        [
            python(),
            "-m",
            "fencun.bench.loadgen",
            "--port",
            str(port),
            "--seconds",
            str(seconds),
            "--connections",
            str(connections),
            "--token",
            TOKEN,
            "--aes-key",
            AES_KEY,
            "--app-id",
            APP_ID,
            # Signed and encrypted before the clock starts: enough for 10,000 a second.
            "--requests",
            str(min(120_000, max(5_000, int(seconds * 10_000)))),
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout)


def _count(env: dict[str, str], table: str) -> int:
    if env.get("DATABASE_URL"):
        import psycopg

        with psycopg.connect(env["DATABASE_URL"]) as conn:
            row = conn.execute(f"SELECT count(*) FROM {table}").fetchone()  # noqa: S608 - our table names
            assert row is not None  # count(*) always returns one row
            return int(row[0])
    with sqlite3.connect(f"{env['FENCUN_DATA_DIR']}/fencun.sqlite3") as conn:
        return int(conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0])  # noqa: S608


def _fencun_run(seconds: float, connections: int, workers: int) -> dict[str, Any]:
    data_dir = tempfile.mkdtemp(prefix="fencun-bench-gateway-")
    env = environ(
        FENCUN_DATA_DIR=data_dir,
        WECHAT_APP_ID=APP_ID,
        WECHAT_TOKEN=TOKEN,
        WECHAT_AES_KEY=AES_KEY,
        WECHAT_ENCRYPT_MODE="compatible",
        FENCUN_ADMIN_PASSWORD=secrets.token_urlsafe(16),
    )
    if env.get("DATABASE_URL"):
        # A benchmark must start from an empty event log.
        subprocess.run(  # noqa: S603
            [python(), "-m", "fencun.manage", "flush", "--no-input"],
            env=env,
            check=False,
            capture_output=True,
        )
    port = free_port()
    args = [python(), "-m", "fencun.cli.main", "serve", "--port", str(port), "--workers", str(workers)]
    with running(args, env, "/api/openapi.json", port):
        figures = _load(port, seconds, connections)
        # Acknowledged means in the inbox; the event log catches up once the load ends.
        figures["inbox_after_load"] = _count(env, "gateway_inboxevent")
        started = time.monotonic()
        while _count(env, "gateway_inboxevent") and time.monotonic() - started < 120:
            time.sleep(0.1)
        figures["fold_seconds_after_load"] = round(time.monotonic() - started, 2)
    figures["events_stored"] = _count(env, "audience_event")
    figures["events_expected"] = figures.pop("distinct_acked")
    return figures


def _comparison_run(app: str, seconds: float, connections: int, workers: int) -> dict[str, Any]:
    port = free_port()
    args = [
        python(), "-m", "gunicorn", "-w", str(workers), "-k", "gthread",
        "--threads", str(COMPARISON_THREADS), "-b", f"127.0.0.1:{port}", app,
    ]
    env = environ(WECHAT_APP_ID=APP_ID, WECHAT_TOKEN=TOKEN, WECHAT_AES_KEY=AES_KEY)
    with running(args, env, "/", port):
        figures = _load(port, seconds, connections)
    figures.pop("distinct_acked")
    return figures


def _missing(modules: tuple[str, ...]) -> str | None:
    for module in modules:
        try:
            __import__(module)
        except ImportError:
            return f"not installed (pip install -e '.[bench]'): {module}"
    return None


def run(
    seconds: float = 20,
    connections: int = 64,
    workers: int = 0,
    compare: bool = True,
    rounds: int = 1,
) -> dict[str, Any]:
    """Run the benchmark; return its figures."""
    workers = workers or default_workers()
    comparisons = {
        name: app for name, (app, modules) in COMPARISONS.items()
        if compare and _missing(modules) is None
    }
    runs: dict[str, list[dict[str, Any]]] = {"fencun": [], **{name: [] for name in comparisons}}
    for _ in range(rounds):
        runs["fencun"].append(_fencun_run(seconds, connections, workers))
        for name, app in comparisons.items():
            runs[name].append(_comparison_run(app, seconds, connections, workers))
    medians = {
        name: statistics.median(r["requests_per_second"] for r in figures)
        for name, figures in runs.items()
    }
    result: dict[str, Any] = {
        "benchmark": "gateway",
        "database": "postgresql" if environ().get("DATABASE_URL") else "sqlite",
        "workers": workers,
        "connections": connections,
        "rounds": rounds,
        "fencun": runs["fencun"][-1] if rounds == 1 else runs["fencun"],
        "median_requests_per_second": medians,
    }
    for name, (_app, modules) in COMPARISONS.items():
        if name not in comparisons:
            if compare:
                result[name] = _missing(modules)
            continue
        result[name] = runs[name][-1] if rounds == 1 else runs[name]
        result[f"fencun_vs_{name}"] = round(medians["fencun"] / max(medians[name], 1e-9), 2)
    return result


def command(
    seconds: float = typer.Option(20.0, "--seconds", help=gettext("Length of each measured run.")),
    connections: int = typer.Option(
        64, "--connections", help=gettext("Concurrent keep-alive connections.")
    ),
    workers: int = typer.Option(
        0, "--workers", help=gettext("Server processes (0: as `fencun serve` sizes them).")
    ),
    compare: bool = typer.Option(
        True,
        "--compare/--no-compare",
        help=gettext("Also measure WeRoBot's echo app and wechatpy's echo behind Flask."),
    ),
    rounds: int = typer.Option(
        1, "--rounds", min=1, help=gettext("Alternating rounds of fencun and the comparisons.")
    ),
    as_json: bool = typer.Option(False, "--json", help=gettext("Print one JSON object.")),
) -> None:
    """Callbacks per second, latency and storage completeness of the WeChat gateway."""
    result = run(seconds, connections, workers, compare, rounds)
    typer.echo(json.dumps(result, ensure_ascii=False, indent=None if as_json else 2))
