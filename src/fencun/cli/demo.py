"""``fencun demo``: one command, no configuration (see :mod:`fencun.demo`)."""

from __future__ import annotations

import os
import shlex
import shutil
import socket
import threading
from pathlib import Path
from socketserver import ThreadingMixIn
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

# The Django apps are imported inside the commands: a command sets Django up first (its
# data dir and settings come from its options), and `fencun --help` loads none of them.

MARKER = ".fencun-demo"
console = Console()


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
            f"{path} 已有数据且不是演示目录，演示不会覆盖它；请用 --data-dir 指定一个空目录",
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
    no_serve: bool = typer.Option(False, "--no-serve", help="不启动控制台：跑完一个月后打印汇总并退出。"),
    host: str = typer.Option("127.0.0.1", "--host", help="控制台监听地址。"),
    port: int = typer.Option(8000, "--port", help="控制台端口。"),
    days: int = typer.Option(30, "--days", min=1, max=90, help="模拟的天数。"),
    followers: int = typer.Option(0, "--followers", min=0, help="模拟粉丝数（0：世界默认的 25,000）。"),
    seed: int = typer.Option(1, "--seed", help="随机种子。"),
    data_dir: Path | None = typer.Option(None, "--data-dir", help="演示数据目录（每次运行前清空）。"),  # noqa: B008
) -> None:
    """演示：惠州一家家具店的一个月——模拟的微信、两万多粉丝、引擎规划的活动，以及与“全部群发”的对比。"""
    for name in ("DATABASE_URL", "FENCUN_QUEUE_URL"):
        if os.environ.pop(name, None):
            console.print(f"[dim]演示只用内置的 SQLite 与队列，忽略 {name}[/dim]")
    os.environ["FENCUN_DATA_DIR"] = str(_demo_dir(data_dir))
    product_port = _free_port(host) if no_serve else port
    if not no_serve:
        try:
            with socket.socket() as s:
                s.bind((host, port))
        except OSError as exc:
            console.print(f"[red]无法监听 {host}:{port}：{exc.strerror}；可用 --port 换一个端口[/red]")
            raise typer.Exit(1) from None

    from datetime import date

    from fencun.demo import WORLD, scenario_for
    from fencun.sandbox.platform import Config
    from fencun.sandbox.server import Sandbox

    scenario = scenario_for(days, followers or None, date.today())
    config = Config(
        account_type=scenario["account_type"],
        mode="safe",
        callback_url=f"http://{host}:{product_port}/wechat/callback",
        followers=0,
        seed=seed,
    )
    box = Sandbox(config, port=0)
    with console.status("生成模拟粉丝……"):
        box.load_world(WORLD, scenario, seed)
    box.start()
    os.environ["WECHAT_API_BASE"] = box.api_base
    try:
        _run(box, scenario, seed, days, host, product_port, serve=not no_serve)
    finally:
        from fencun import clock

        clock.reset()
        box.stop()


def _run(box: Any, scenario: dict[str, Any], seed: int, days: int, host: str, port: int, *, serve: bool) -> None:
    from fencun.cli.serve import ensure_admin
    from fencun.datadir import setup_django

    setup_django()
    from fencun.wsgi import application

    login = ensure_admin()
    server = make_server(host, port, application, server_class=_ThreadingServer, handler_class=_QuietHandler)
    threading.Thread(target=server.serve_forever, name="demo-console", daemon=True).start()
    url = f"http://{host}:{port}/"
    if serve and login:
        console.print(f"控制台：[bold]{url}[/bold]  用户名 [bold]{login[0]}[/bold]  密码 [bold]{login[1]}[/bold]")

    from fencun import clock
    from fencun.demo import Demo, backtests

    run = Demo(box, scenario)
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=console) as progress:
        task = progress.add_task("同步粉丝", total=None)
        run.setup(lambda done, total: progress.update(task, completed=done, total=total))
        task = progress.add_task("模拟一个月", total=days)
        for n in range(days):
            for o in run.run_day(n):
                held = sum(o.held_back.values())
                progress.console.print(
                    f"第 {n + 1:>2} 天  {'[紧急] ' if o.urgent else ''}{o.name}：发送 {o.sent:,}，保留 {held:,}"
                )
            progress.advance(task)
        task = progress.add_task("回测对照（引擎 / 全部群发）", total=None)
        compare = backtests(scenario, days, seed)
        progress.update(task, total=1, completed=1)
    clock.reset()
    _print_summary(run.summary(days, compare))
    # The demo keeps its own data dir: other commands read it only when told to.
    console.print(
        "用命令行查看演示的数据：[bold]"
        + shlex.join(["env", f"FENCUN_DATA_DIR={os.environ['FENCUN_DATA_DIR']}", "fencun", "campaign", "list"])
        + "[/bold]"
    )
    if not serve:
        server.shutdown()
        return
    if login:
        console.print(f"控制台：[bold]{url}[/bold]  用户名 [bold]{login[0]}[/bold]  密码 [bold]{login[1]}[/bold]")
    console.print("按 Ctrl+C 停止。")
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        server.shutdown()


def _print_summary(s: Any) -> None:
    table = Table(title=f"演示：{s.days} 天，{s.followers_start:,} 位粉丝起步")
    table.add_column("")
    table.add_column("本次运行（产品）", justify="right")
    table.add_column("回测：分寸引擎", justify="right")
    table.add_column("回测：全部群发", justify="right")
    engine, blast = s.backtests["fencun"], s.backtests["blast"]

    def yuan(v: float) -> str:
        return f"¥{v:,.0f}"

    table.add_row("推送人次", f"{s.pushes:,}", f"{engine['sent']:,}", f"{blast['sent']:,}")
    table.add_row("订单", f"{s.orders:,}", f"{engine['orders']:,}", f"{blast['orders']:,}")
    table.add_row("营收", yuan(s.revenue), yuan(engine["revenue"]), yuan(blast["revenue"]))
    table.add_row("取关", f"{s.unfollows:,}", f"{engine['unfollows']:,}", f"{blast['unfollows']:,}")
    table.add_row(
        "期末粉丝", f"{s.followers_end:,}", f"{engine['followers_end']:,}", f"{blast['followers_end']:,}"
    )
    console.print(table)
    sent = sum(1 for c in s.campaigns if c.sent)
    console.print(
        f"{len(s.campaigns)} 个活动中 {sent} 个已发送；引擎按理由保留了 {s.held_back:,} 人次；"
        f"活动带来的营收 {yuan(s.attributed_revenue)}。"
    )
