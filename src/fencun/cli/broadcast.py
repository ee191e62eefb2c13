"""``fencun broadcast ...``: public posts on the broadcast channels (Weibo, WeCom customer Moments)."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

import typer
from rich.console import Console
from rich.table import Table

from fencun.datadir import setup_django

# The Django apps are imported inside the commands: a command sets Django up first (its
# data dir and settings come from its options), and `fencun --help` loads none of them.

if TYPE_CHECKING:
    from fencun.channels.broadcast.client import WeiboClient
    from fencun.channels.broadcast.services import Outcome
    from fencun.channels.wecom.client import WeComClient

app = typer.Typer(help="公开发布（微博、企业微信客户朋友圈）：排期、限额、检查与跟踪链接。", no_args_is_help=True)
console = Console()


def _parse_time(value: str) -> datetime:
    from fencun.engine.clock import SHANGHAI

    try:
        at = datetime.fromisoformat(value.strip().replace("T", " "))
    except ValueError:
        raise typer.BadParameter(
            "时间格式应为 2026-11-26 10:00（北京时间）", param_hint="--at"
        ) from None
    return at.replace(tzinfo=SHANGHAI) if at.tzinfo is None else at


def _client(channel: str = "weibo", account=None) -> WeiboClient | WeComClient:
    """The client of ``channel``: the configured Weibo account, or the account's WeCom corp."""
    from fencun.channels.broadcast.services import MOMENTS, weibo_client

    try:
        if channel == MOMENTS:
            from fencun.channels.wecom.ledger import wecom_client
            from fencun.channels.wecom.people import campaign_corp

            corp = campaign_corp(account) if account is not None else None
            if corp is None:
                raise ValueError("发布客户朋友圈需要先配置企业微信（fencun wecom sync）")
            return wecom_client(corp)
        return weibo_client()
    except ValueError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(2) from None


def _show(outcomes: list[Outcome]) -> None:
    table = Table("编号", "状态", "平台编号", "说明")
    for outcome in outcomes:
        post = outcome.post
        note = str(outcome.error) if outcome.error is not None else post.reason
        table.add_row(str(post.pk), post.get_status_display(), post.remote_id or "—", note or "")
    console.print(table)


@app.command("post")
def post(
    text: str = typer.Argument(..., help="正文（140 字以内，含跟踪链接）。"),
    at: str | None = typer.Option(
        None, "--at", help="发布时间，如 2026-11-26 10:00（北京时间）；不填则立即发布。"
    ),
    link: str = typer.Option("", "--link", help="附在正文后的链接（会换成跟踪链接）。"),
    acknowledge: bool = typer.Option(False, "--ack", help="确认检查出的提醒，仍然发布。"),
    channel: str = typer.Option(
        "weibo", "--channel", help="weibo（微博）或 wecom_moments（企业微信客户朋友圈）。"
    ),
) -> None:
    """写一条公开发布：先做内容检查与限额检查，再排期或立即发布。"""
    when = _parse_time(at) if at else None
    setup_django()
    from fencun import clock
    from fencun.accounts.current import default_account
    from fencun.channels.broadcast.services import (
        LintBlocked,
        WarningsNotAcknowledged,
        create_post,
        post_due,
    )
    from fencun.channels.wechat.errors import ChannelError

    account = default_account()
    if account is None:
        typer.echo("找不到商家账号：请先设置 WECHAT_APP_ID 等环境变量。", err=True)
        raise typer.Exit(2)
    client = None if when else _client(channel, account)
    try:
        created = create_post(
            account,
            text,
            link_target=link,
            scheduled_for=when or clock.now(),
            acknowledge_warnings=acknowledge,
            channel=channel,
        )
    except LintBlocked as exc:
        typer.echo("内容检查未通过，不能发布：", err=True)
        for finding in exc.findings:
            typer.echo(
                f"  ✗ {finding.message_zh}" + (f"（{finding.fix_zh}）" if finding.fix_zh else ""),
                err=True,
            )
        raise typer.Exit(1) from None
    except WarningsNotAcknowledged as exc:
        typer.echo("内容检查有提醒：", err=True)
        for finding in exc.findings:
            typer.echo(f"  ! {finding.message_zh}", err=True)
        typer.echo("确认无误后加 --ack 再次运行。", err=True)
        raise typer.Exit(1) from None
    except ChannelError as exc:  # a cap or Weibo's length limit
        typer.echo(f"超出限额，未保存：{exc}", err=True)
        raise typer.Exit(1) from None
    except ValueError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(1) from None
    if when:
        typer.echo(
            f"已排期：第 {created.pk} 条，{when:%Y-%m-%d %H:%M}。到时运行 fencun broadcast run 发布。"
        )
        return
    assert client is not None
    with client:
        try:
            outcomes = post_due(client)
        except ValueError as exc:
            typer.echo(str(exc), err=True)
            raise typer.Exit(2) from None
    _show(outcomes)
    created.refresh_from_db()
    if created.status != created.Status.POSTED:
        raise typer.Exit(1)


@app.command("run")
def run(
    channel: str = typer.Option(
        "weibo", "--channel", help="weibo（微博）或 wecom_moments（企业微信客户朋友圈）。"
    ),
) -> None:
    """发布所有到时的排期；每条只发一次，结果未知的不会自动重发。"""
    setup_django()
    from fencun.accounts.current import default_account
    from fencun.channels.broadcast.services import post_due

    with _client(channel, default_account()) as client:
        try:
            outcomes = post_due(client)
        except ValueError as exc:
            typer.echo(str(exc), err=True)
            raise typer.Exit(2) from None
    if not outcomes:
        typer.echo("没有到时的发布。")
        return
    _show(outcomes)
    if any(o.error is not None for o in outcomes):
        raise typer.Exit(1)


@app.command("sandbox")
def sandbox(
    port: int = typer.Option(8902, "--port", help="监听端口（0 表示任选一个空闲端口）。"),
    host: str = typer.Option("127.0.0.1", "--host", help="监听地址。"),
) -> None:
    """启动本地微博沙盒（statuses/share），不需要真实的微博账号。"""
    from fencun.cli.serving import serve_until_stopped
    from fencun.sandbox.weibo import WeiboSandbox

    try:
        box = WeiboSandbox(host=host, port=port)
    except OSError as exc:
        typer.echo(f"无法监听 {host}:{port}：{exc.strerror}", err=True)
        raise typer.Exit(1) from None
    box.start()
    config = box.config
    typer.echo(
        f"微博沙盒已启动：{box.api_base}\n"
        f"  设置 WEIBO_API_BASE={box.api_base} WEIBO_ACCESS_TOKEN={config.access_token}\n"
        f"  安全域名 {config.safe_domain}（FENCUN_PUBLIC_URL 须在此域名下）\n"
        f"  管理接口 {box.api_base}/sandbox/weibo/state\n"
        "按 Ctrl+C 停止。"
    )
    serve_until_stopped(box)
