"""``fencun demo``: one command, no configuration (see :mod:`fencun.demo`)."""

from __future__ import annotations

import multiprocessing
import os
import shlex
import shutil
import socket
import threading
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from socketserver import ThreadingMixIn
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from fencun.language import gettext as _

# The Django apps are imported inside the commands: a command sets Django up first (its
# data dir and settings come from its options), and `fencun --help` loads none of them.

MARKER = ".fencun-demo"
console = Console()
HELP = _(
    "Demo: a month of a furniture shop in Huizhou — a simulated WeChat, over twenty "
    "thousand followers, campaigns planned by the engine, and a comparison with sending to all."
)
DATA_DIR_HELP = _("The demo's data directory (emptied before each run).")


class _ThreadingServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        pass


def _demo_dir(given: Path | None) -> Path:
    """The demo's data dir, emptied: ``--data-dir``, ``FENCUN_DATA_DIR`` or a per-user default.
    A directory holding a database that is not an earlier demo's is never touched."""
    if given is None and os.environ.get("FENCUN_DATA_DIR"):
        given = Path(os.environ["FENCUN_DATA_DIR"])
    if given is None:
        base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
        given = Path(base) / "fencun-demo"
    path = given.expanduser()
    if path.exists() and any(path.iterdir()) and not (path / MARKER).exists():
        raise typer.BadParameter(
            _(
                "%(path)s holds data and is not a demo's directory: the demo will not overwrite it; "
                "give an empty directory with --data-dir"
            )
            % {"path": path},
            param_hint="--data-dir",
        )
    if path.exists():
        shutil.rmtree(path)
    path.mkdir(parents=True)
    (path / MARKER).write_text("fencun demo data; deleted by the next `fencun demo`\n")
    return path


def _free_port(host: str) -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def demo(
    no_serve: bool = typer.Option(
        False,
        "--no-serve",
        help=_("Do not start the console: print the summary after the month and exit."),
    ),
    host: str = typer.Option("127.0.0.1", "--host", help=_("Address the console listens on.")),
    port: int = typer.Option(8000, "--port", help=_("The console's port.")),
    days: int = typer.Option(30, "--days", min=1, max=90, help=_("Simulated days.")),
    followers: int = typer.Option(
        0, "--followers", min=0, help=_("Simulated followers (0: the world's default of 25,000).")
    ),
    seed: int = typer.Option(1, "--seed", help=_("Random seed.")),
    data_dir: Path | None = typer.Option(None, "--data-dir", help=DATA_DIR_HELP),  # noqa: B008
) -> None:
    """The demo: a simulated month of a furniture shop, then its comparison with sending to all."""
    for name in ("DATABASE_URL", "FENCUN_QUEUE_URL"):
        if os.environ.pop(name, None):
            console.print(
                "[dim]"
                + _("The demo uses only its built-in SQLite and queue: %(variable)s is ignored")
                % {"variable": name}
                + "[/dim]"
            )
    os.environ["FENCUN_DATA_DIR"] = str(_demo_dir(data_dir))
    product_port = _free_port(host) if no_serve else port
    if not no_serve:
        try:
            with socket.socket() as s:
                s.bind((host, port))
        except OSError as exc:
            console.print(
                "[red]"
                + _("cannot listen on %(address)s: %(reason)s; choose another port with --port")
                % {"address": f"{host}:{port}", "reason": exc.strerror}
                + "[/red]"
            )
            raise typer.Exit(1) from None

    from datetime import datetime

    from fencun.demo import WORLD, scenario_for
    from fencun.engine.clock import SHANGHAI
    from fencun.sandbox.platform import Config
    from fencun.sandbox.server import Sandbox

    # The month ends yesterday in Shanghai, as the console's overview counts days: its window
    # (the last 30 days and today) then holds the whole month, and the summary below is it.
    scenario = scenario_for(days, followers or None, datetime.now(SHANGHAI).date())
    config = Config(
        account_type=scenario["account_type"],
        mode="safe",
        callback_url=f"http://{host}:{product_port}/wechat/callback",
        followers=0,
        seed=seed,
    )
    box = Sandbox(config, port=0)
    with console.status(_("Generating the simulated followers…")):
        box.load_world(WORLD, scenario, seed)
    box.start()
    os.environ["WECHAT_API_BASE"] = box.api_base
    try:
        _run(box, scenario, seed, days, host, product_port, serve=not no_serve)
    finally:
        from fencun import clock

        clock.reset()
        box.stop()


def _run(
    box: Any, scenario: dict[str, Any], seed: int, days: int, host: str, port: int, *, serve: bool
) -> None:
    from fencun.cli.serve import ensure_admin
    from fencun.datadir import setup_django

    setup_django()
    from fencun.wsgi import application

    login = ensure_admin()
    server = make_server(
        host, port, application, server_class=_ThreadingServer, handler_class=_QuietHandler
    )
    threading.Thread(target=server.serve_forever, name="demo-console", daemon=True).start()
    url = f"http://{host}:{port}/"
    if serve and login:
        console.print(_login_line(url, login))

    from fencun import clock
    from fencun.demo import Demo, backtests

    run = Demo(box, scenario)
    # The backtests to compare with need nothing of the run: they go on the other core
    # meanwhile (a fresh interpreter, not a fork of this threaded one).
    pool = ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn"))
    compared = pool.submit(backtests, scenario, days, seed)
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=console) as progress:
        task = progress.add_task(_("Syncing followers"), total=None)
        run.setup(lambda done, total: progress.update(task, completed=done, total=total))
        task = progress.add_task(_("Simulating the month"), total=days)
        for n in range(days):
            for o in run.run_day(n):
                progress.console.print(_day_line(n, o))
            progress.advance(task)
        task = progress.add_task(_("Backtests to compare (engine / send to all)"), total=None)
        compare = compared.result()
        pool.shutdown()
        progress.update(task, total=1, completed=1)
    clock.reset()
    _print_summary(run.summary(days, compare))
    # The demo keeps its own data dir: other commands read it only when told to.
    command = shlex.join(
        ["env", f"FENCUN_DATA_DIR={os.environ['FENCUN_DATA_DIR']}", "fencun", "campaign", "list"]
    )
    console.print(
        _("The demo's data from the command line: %(command)s")
        % {"command": f"[bold]{command}[/bold]"}
    )
    if not serve:
        server.shutdown()
        return
    if login:
        console.print(_login_line(url, login))
    console.print(_("Press Ctrl+C to stop."))
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        server.shutdown()


def _login_line(url: str, login: tuple[str, str]) -> str:
    return _("Console: %(url)s  username %(username)s  password %(password)s") % {
        "url": f"[bold]{url}[/bold]",
        "username": f"[bold]{login[0]}[/bold]",
        "password": f"[bold]{login[1]}[/bold]",
    }


def _day_line(n: int, o: Any) -> str:
    """One campaign of day ``n`` (from 0): sent and held back."""
    line = _("day %(day)s  %(campaign)s: %(sent)s sent, %(held)s held back") % {
        "day": f"{n + 1:>2}",
        "campaign": (_("[urgent]") + " " if o.urgent else "") + o.name,
        "sent": f"{o.sent:,}",
        "held": f"{sum(o.held_back.values()):,}",
    }
    return escape(line)


def _print_summary(s: Any) -> None:
    table = Table(
        title=_("Demo: %(days)s days, starting with %(followers)s followers")
        % {"days": s.days, "followers": f"{s.followers_start:,}"}
    )
    table.add_column("")
    table.add_column(_("This run (the product)"), justify="right")
    table.add_column(_("Backtest: fencun's engine"), justify="right")
    table.add_column(_("Backtest: send to all"), justify="right")
    engine, blast = s.backtests["fencun"], s.backtests["blast"]

    def yuan(v: float) -> str:
        return f"¥{v:,.0f}"

    table.add_row(_("Pushes"), f"{s.pushes:,}", f"{engine['sent']:,}", f"{blast['sent']:,}")
    table.add_row(_("Orders"), f"{s.orders:,}", f"{engine['orders']:,}", f"{blast['orders']:,}")
    table.add_row(
        _("Sales revenue"), yuan(s.revenue), yuan(engine["revenue"]), yuan(blast["revenue"])
    )
    table.add_row(
        _("Unfollows"), f"{s.unfollows:,}", f"{engine['unfollows']:,}", f"{blast['unfollows']:,}"
    )
    table.add_row(
        _("Followers at the end"),
        f"{s.followers_end:,}",
        f"{engine['followers_end']:,}",
        f"{blast['followers_end']:,}",
    )
    console.print(table)
    sent = sum(1 for c in s.campaigns if c.sent)
    console.print(
        _(
            "%(sent)s of %(campaigns)s campaigns sent; the engine held back %(held)s pushes, each "
            "for a stated reason; revenue brought by the campaigns %(revenue)s."
        )
        % {
            "sent": sent,
            "campaigns": len(s.campaigns),
            "held": f"{s.held_back:,}",
            "revenue": yuan(s.attributed_revenue),
        }
    )
