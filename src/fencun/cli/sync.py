"""``fencun sync``: bring every follower of the account in from WeChat (resumable)."""

from __future__ import annotations

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from fencun.datadir import setup_django

# The Django apps are imported inside the commands: a command sets Django up first (its
# data dir and settings come from its options), and `fencun --help` loads none of them.


def sync(
    app_id: str | None = typer.Option(None, "--account", help="公众号 AppID（默认：环境变量或默认账号）。"),
    restart: bool = typer.Option(False, "--restart", help="丢弃上次未完成的进度，从第一页开始。"),
) -> None:
    """同步粉丝列表、粉丝资料与标签；中断后再次运行会从上次完成的页继续。"""
    setup_django()
    from fencun.accounts.current import default_account
    from fencun.accounts.models import Account
    from fencun.audience.sync import sync_followers
    from fencun.channels.services import wechat_client
    from fencun.channels.wechat.errors import ChannelError

    try:
        account = (
            Account.objects.filter(app_id=app_id).first() if app_id else default_account()
        )
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None
    if account is None:
        typer.echo("找不到公众号：请设置 WECHAT_APP_ID 等环境变量，或用 --account 指定。", err=True)
        raise typer.Exit(2)
    try:
        client = wechat_client(account)
    except ValueError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(2) from None
    with client, Progress(
        TextColumn("同步粉丝"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn()
    ) as bar:
        task = bar.add_task("sync", total=None)

        def progress(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        try:
            result = sync_followers(account, client, restart=restart, progress=progress)
        except ChannelError as exc:
            bar.stop()
            typer.echo(f"同步中断（进度已保存，再次运行即可继续）：{exc}", err=True)
            raise typer.Exit(1) from None
    typer.echo(
        f"完成：{result.followers} 位粉丝，新记录 {result.recorded} 条，"
        f"{result.pages} 页，标签 {len(result.tags)} 个" + ("（续传）" if result.resumed else "")
    )
