"""``fencun serve`` (console, API, callback, embedded worker) and ``fencun worker``."""

from __future__ import annotations

import os
import subprocess
import sys

import typer

from fencun.cli.children import child_environment, die_with_parent
from fencun.datadir import setup_django


def ensure_admin() -> tuple[str, str] | None:
    """Create the first admin if there is none; return (username, password) once."""
    import secrets

    from django.contrib.auth import get_user_model

    user_model = get_user_model()
    if user_model.objects.filter(is_superuser=True).exists():
        return None
    password = secrets.token_urlsafe(12)
    user_model.objects.create_superuser("admin", "", password)
    return "admin", password


# Callback threads mostly wait for the group commit (fencun.gateway.ingest): more threads
# per process mean larger batches, not more CPU.
THREADS_PER_WORKER = 16


def default_workers(database_url: str | None = None) -> int:
    """Server processes for this machine: one per core on SQLite (one writer at a time
    anyway, fewer processes contend less), two per core on PostgreSQL."""
    cores = os.cpu_count() or 1
    url = os.environ.get("DATABASE_URL", "") if database_url is None else database_url
    return max(2, cores if not url else cores * 2)


def run_server(host: str, port: int, workers: int, threads: int = THREADS_PER_WORKER) -> None:
    """Run the WSGI application under gunicorn in this process (blocks)."""
    from gunicorn.app.base import BaseApplication

    class _App(BaseApplication):
        def load_config(self) -> None:
            self.cfg.set("bind", f"{host}:{port}")
            self.cfg.set("workers", workers)
            self.cfg.set("worker_class", "gthread")
            self.cfg.set("threads", threads)
            self.cfg.set("timeout", 30)
            self.cfg.set("graceful_timeout", 10)
            self.cfg.set("accesslog", None)
            self.cfg.set("errorlog", "-")
            self.cfg.set("loglevel", "warning")

        def load(self):  # type: ignore[no-untyped-def]
            from fencun.wsgi import application

            return application

    _App().run()


def serve(
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on."),
    port: int = typer.Option(8000, "--port", help="Port to listen on."),
    workers: int = typer.Option(0, "--workers", help="Server processes (0: one per core on SQLite, two on PostgreSQL)."),
) -> None:
    """Serve the console, the API and the WeChat callback (plus an embedded worker)."""
    setup_django()
    login = ensure_admin()
    if login:
        typer.echo(f"Created the first administrator — username: {login[0]}  password: {login[1]}")
        typer.echo("(shown once; change it in the console)")
    from django.conf import settings

    worker = None
    if not settings.QUEUE_URL:
        # Embedded queue: a worker process beside the server, ended with it, even when
        # the server is killed outright (fencun.cli.children).
        worker = subprocess.Popen(  # noqa: S603
            [sys.executable, "-m", "fencun.cli.main", "worker"], env=child_environment()
        )
    typer.echo(f"fencun is serving on http://{host}:{port}/  (callback: /wechat/callback)")
    try:
        run_server(host, port, workers or default_workers())
    finally:
        if worker is not None:
            worker.terminate()
            try:
                worker.wait(timeout=10)
            except subprocess.TimeoutExpired:
                worker.kill()


def worker(
    processes: int = typer.Option(2, "--workers", help="Worker threads in this process."),
) -> None:
    """Run a task worker (for FENCUN_QUEUE_URL=redis://…, run any number of these)."""
    die_with_parent()
    setup_django()
    from django.core.management import call_command

    call_command("run_huey", workers=processes, worker_type="thread")
