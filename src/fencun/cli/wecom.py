"""``fencun wecom ...``: the WeCom customer-contact channel from the command line."""

from __future__ import annotations

import typer
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from fencun.datadir import setup_django

app = typer.Typer(help="企业微信客户联系。", no_args_is_help=True)


@app.command("sync")
def sync(
    corp_id: str | None = typer.Option(
        None, "--corp", help="企业 CorpID（默认：环境变量或唯一的企业）。"
    ),
    restart: bool = typer.Option(False, "--restart", help="丢弃上次未完成的进度，从头开始。"),
) -> None:
    """同步企业微信客户、跟进成员与企业标签；中断后再次运行会从上次完成的页继续。"""
    setup_django()
    from fencun.channels.models import WecomCorp
    from fencun.channels.wechat.errors import ChannelError
    from fencun.channels.wecom.corps import default_corp
    from fencun.channels.wecom.ledger import wecom_client
    from fencun.channels.wecom.sync import sync_contacts

    try:
        corp = WecomCorp.objects.filter(corp_id=corp_id).first() if corp_id else default_corp()
    except ValueError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(2) from None
    if corp is None:
        typer.echo("找不到企业微信：请设置 WECOM_CORP_ID 等环境变量，或用 --corp 指定。", err=True)
        raise typer.Exit(2)
    try:
        client = wecom_client(corp)
    except ValueError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(2) from None
    with (
        client,
        Progress(
            SpinnerColumn(),
            TextColumn("同步企业微信客户"),
            TextColumn("{task.completed} 条关系"),
            TimeElapsedColumn(),
        ) as bar,
    ):
        task = bar.add_task("sync", total=None)

        def progress(done: int) -> None:
            bar.update(task, completed=done)

        try:
            result = sync_contacts(corp, client, restart=restart, progress=progress)
        except ChannelError as exc:
            bar.stop()
            typer.echo(f"同步中断（进度已保存，再次运行即可继续）：{exc}", err=True)
            raise typer.Exit(1) from None
    typer.echo(
        f"完成：{result.contacts} 位客户（{result.relations} 条跟进关系），新记录 {result.recorded} 条，"
        f"{result.pages} 页，企业标签 {result.tags} 个" + ("（续传）" if result.resumed else "")
    )
