"""The ``fencun`` console script: registers every command module."""

from __future__ import annotations

import contextlib
import os
import sys

import typer

from fencun import language
from fencun.cli.lang import RunLanguage, run_option
from fencun.language import gettext as _

# Typer reads every help text (the options', the commands') when a command module is
# imported and the app is built: the run's language is settled first, from the words on
# the command line and the environment, and the command modules are imported only after
# it, in build(). Help texts stay plain strings, as Click and Rich format them; an unknown
# language is refused by RunLanguage when the app parses the same words.
with contextlib.suppress(language.UnknownLanguage):
    language.activate(language.for_run(language.option_in(sys.argv[1:]), os.environ))


def build() -> typer.Typer:
    """The app with every command, its help texts in the active language."""
    # Imported here, after the language is settled (above): their help texts are read at import.
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
    from fencun.cli import retention as retention_cli
    from fencun.cli import sandbox as sandbox_cli
    from fencun.cli import secrets_cmd as secrets_cli
    from fencun.cli import sync as sync_cli
    from fencun.cli import wecom as wecom_cli

    app = typer.Typer(
        name="fencun",
        cls=RunLanguage,
        help=_("fencun — WeChat marketing with a sense of measure."),
        no_args_is_help=True,
        add_completion=False,
        pretty_exceptions_show_locals=False,  # locals may hold secrets
    )

    @app.callback()
    def run(lang: str | None = run_option()) -> None:
        # The language is already active: RunLanguage read --lang before Click did.
        pass

    app.command("demo", help=demo_cli.HELP)(demo_cli.demo)
    app.command("serve", help=serve.SERVE_HELP)(serve.serve)
    app.command("worker", help=serve.WORKER_HELP)(serve.worker)
    app.command("writer", help=serve.WRITER_HELP)(serve.writer)
    app.command("migrate", help=migrate_cli.HELP)(migrate_cli.migrate)
    app.add_typer(api_token.app, name="api-token")
    app.add_typer(member_cli.app, name="member")
    app.add_typer(bench.app, name="bench")
    app.command("backtest", help=backtest_cli.HELP)(backtest_cli.backtest)
    app.command("import-orders", help=orders_cli.HELP)(orders_cli.import_orders)
    app.command("retention", help=retention_cli.HELP)(retention_cli.retention)
    app.command("sandbox", help=sandbox_cli.HELP)(sandbox_cli.sandbox)
    app.command("sync", help=sync_cli.HELP)(sync_cli.sync)
    app.command("import-products", help=import_cli.PRODUCTS_HELP)(import_cli.import_products)
    app.command("import-stores", help=import_cli.STORES_HELP)(import_cli.import_stores)
    app.command("lint", help=lint_cli.HELP)(lint_cli.lint)
    app.add_typer(campaign_cli.app, name="campaign")
    app.add_typer(wecom_cli.app, name="wecom")
    app.add_typer(broadcast_cli.app, name="broadcast")
    app.add_typer(secrets_cli.app, name="secrets")
    return app


app = build()


if __name__ == "__main__":
    app()
