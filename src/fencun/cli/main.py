"""The ``fencun`` console script: registers every command module."""

from __future__ import annotations

import typer

from fencun.cli import api_token, bench, serve
from fencun.cli import backtest as backtest_cli
from fencun.cli import broadcast as broadcast_cli
from fencun.cli import campaign as campaign_cli
from fencun.cli import demo as demo_cli
from fencun.cli import import_cmd as import_cli
from fencun.cli import lint as lint_cli
from fencun.cli import member as member_cli
from fencun.cli import migrate as migrate_cli
from fencun.cli import orders as orders_cli
from fencun.cli import sandbox as sandbox_cli
from fencun.cli import secrets_cmd as secrets_cli
from fencun.cli import sync as sync_cli
from fencun.cli import wecom as wecom_cli

app = typer.Typer(
    name="fencun",
    help="分寸 fencun — WeChat marketing with a sense of measure.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_show_locals=False,  # locals may hold secrets
)

app.command("demo")(demo_cli.demo)
app.command("serve")(serve.serve)
app.command("worker")(serve.worker)
app.command("migrate")(migrate_cli.migrate)
app.add_typer(api_token.app, name="api-token")
app.add_typer(member_cli.app, name="member")
app.add_typer(bench.app, name="bench")
app.command("backtest")(backtest_cli.backtest)
app.command("import-orders")(orders_cli.import_orders)
app.command("sandbox")(sandbox_cli.sandbox)
app.command("sync")(sync_cli.sync)
app.command("import-products")(import_cli.import_products)
app.command("import-stores")(import_cli.import_stores)
app.command("lint")(lint_cli.lint)
app.add_typer(campaign_cli.app, name="campaign")
app.add_typer(wecom_cli.app, name="wecom")
app.add_typer(broadcast_cli.app, name="broadcast")
app.add_typer(secrets_cli.app, name="secrets")


if __name__ == "__main__":
    app()
