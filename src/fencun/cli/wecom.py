"""``fencun wecom ...``: the WeCom customer-contact channel from the command line."""

from __future__ import annotations

import typer
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from fencun.datadir import setup_django

# The Django apps are imported inside the commands: a command sets Django up first (its
# data dir and settings come from its options), and `fencun --help` loads none of them.

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
    from fencun.audience.wecom_sync import sync_contacts
    from fencun.channels.models import WecomCorp
    from fencun.channels.wechat.errors import ChannelError
    from fencun.channels.wecom.corps import default_corp
    from fencun.channels.wecom.ledger import wecom_client

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


@app.command("sandbox")
def sandbox(
    port: int = typer.Option(8901, "--port", help="监听端口（0 表示任选一个空闲端口）。"),
    host: str = typer.Option("127.0.0.1", "--host", help="监听地址。"),
    callback: str | None = typer.Option(
        None, "--callback", help="产品的回调地址，例如 http://127.0.0.1:8000/wecom/callback。"
    ),
    contacts: int = typer.Option(30, "--contacts", help="生成的客户数。"),
    seed: int = typer.Option(1, "--seed", help="随机种子。"),
) -> None:
    """启动本地企业微信沙盒（客户联系 API 与回调），不需要真实的企业微信。"""
    from fencun.cli.serving import serve_until_stopped
    from fencun.sandbox.wecom import WeComConfig, WeComSandbox

    if callback and not callback.startswith(("http://", "https://")):
        raise typer.BadParameter("回调地址必须以 http:// 或 https:// 开头", param_hint="--callback")
    config = WeComConfig(callback_url=callback, contacts=contacts, seed=seed)
    try:
        box = WeComSandbox(config, host=host, port=port)
    except OSError as exc:
        typer.echo(f"无法监听 {host}:{port}：{exc.strerror}", err=True)
        raise typer.Exit(1) from None
    box.start()
    typer.echo(
        f"企业微信沙盒已启动：{box.api_base}  （设置 WECOM_API_BASE={box.api_base}）\n"
        f"  CorpID {config.corp_id}  客户 {contacts}  成员 {'、'.join(config.members)}\n"
        f"  回调 {callback or '（未设置）'}\n"
        f"  管理接口 {box.api_base}/sandbox/wecom/state 、/sandbox/wecom/confirm 、/sandbox/wecom/contacts\n"
        "按 Ctrl+C 停止。"
    )
    serve_until_stopped(box)
