"""``fencun bench gateway``: callbacks/s with verification, de-duplication and storage.

The server runs as production does (gunicorn, ``fencun serve``'s worker sizing); the
load comes from a separate process; WeRoBot's bare echo app is measured on the same
machine with the same load for comparison.
"""

from __future__ import annotations

import json
import secrets
import sqlite3
import subprocess
import tempfile
from typing import Any

import typer

from fencun.bench.servers import environ, free_port, python, running
from fencun.gateway.sizing import THREADS_PER_WORKER, default_workers
from fencun.language import gettext

TOKEN = "benchtoken"  # noqa: S105 - a throwaway account of the benchmark
AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
APP_ID = "wxbench00000000001"


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
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout)


def _stored_events(env: dict[str, str]) -> int:
    if env.get("DATABASE_URL"):
        import psycopg

        with psycopg.connect(env["DATABASE_URL"]) as conn:
            row = conn.execute("SELECT count(*) FROM audience_event").fetchone()
            assert row is not None  # count(*) always returns one row
            return row[0]
    with sqlite3.connect(f"{env['FENCUN_DATA_DIR']}/fencun.sqlite3") as conn:
        return conn.execute("SELECT count(*) FROM audience_event").fetchone()[0]


def run(
    seconds: float = 20, connections: int = 64, workers: int = 0, compare: bool = True
) -> dict[str, Any]:
    """Run the benchmark; return its figures."""
    workers = workers or default_workers()
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
    with running(
        [
            python(),
            "-m",
            "fencun.cli.main",
            "serve",
            "--port",
            str(port),
            "--workers",
            str(workers),
        ],
        env,
        "/api/openapi.json",
        port,
    ):
        fencun = _load(port, seconds, connections)
    fencun["events_stored"] = _stored_events(env)
    fencun["events_expected"] = fencun.pop("distinct_acked")
    result: dict[str, Any] = {
        "benchmark": "gateway",
        "database": "postgresql" if env.get("DATABASE_URL") else "sqlite",
        "workers": workers,
        "threads_per_worker": THREADS_PER_WORKER,
        "connections": connections,
        "fencun": fencun,
    }
    if compare:
        try:
            import werobot  # noqa: F401
        except ImportError:
            result["werobot"] = "not installed (pip install -e '.[bench]')"
        else:
            port = free_port()
            with running(
                [
                    python(),
                    "-m",
                    "gunicorn",
                    "-w",
                    str(workers),
                    "-k",
                    "gthread",
                    "--threads",
                    str(THREADS_PER_WORKER),
                    "-b",
                    f"127.0.0.1:{port}",
                    "fencun.bench.werobot_echo:application",
                ],
                env,
                "/",
                port,
            ):
                werobot_figures = _load(port, seconds, connections)
            werobot_figures.pop("distinct_acked")
            result["werobot"] = werobot_figures
            result["fencun_vs_werobot"] = round(
                fencun["requests_per_second"] / max(werobot_figures["requests_per_second"], 1e-9), 2
            )
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
        True, "--compare/--no-compare", help=gettext("Also measure WeRoBot's echo app.")
    ),
    as_json: bool = typer.Option(False, "--json", help=gettext("Print one JSON object.")),
) -> None:
    """Callbacks per second, latency and storage completeness of the WeChat gateway."""
    result = run(seconds, connections, workers, compare)
    typer.echo(json.dumps(result, ensure_ascii=False, indent=None if as_json else 2))
