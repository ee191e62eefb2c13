"""The ``fencun`` console script: registers every command module."""

from __future__ import annotations

import typer

from fencun.cli import api_token, bench, serve

app = typer.Typer(
    name="fencun",
    help="分寸 fencun — WeChat marketing with a sense of measure.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_show_locals=False,  # locals may hold secrets
)

app.command("serve")(serve.serve)
app.command("worker")(serve.worker)
app.add_typer(api_token.app, name="api-token")
app.add_typer(bench.app, name="bench")


if __name__ == "__main__":
    app()
