"""``fencun api-token``: issue and revoke JSON API tokens."""

from __future__ import annotations

import typer
from rich.console import Console
from rich.table import Table

from fencun.datadir import setup_django

app = typer.Typer(help="API tokens for `Authorization: Bearer …`.", no_args_is_help=True)


@app.command("create")
def create(name: str = typer.Option(..., "--name", help="What the token is for.")) -> None:
    """Create a token and print it (shown once; only its hash is stored)."""
    setup_django()
    from fencun.api.models import ApiToken

    try:
        _, plaintext = ApiToken.issue(name)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--name") from None
    typer.echo(plaintext)


@app.command("list")
def list_tokens() -> None:
    """List tokens (never their values)."""
    setup_django()
    from fencun.api.models import ApiToken

    table = Table("name", "prefix", "created", "last used", "revoked")
    for t in ApiToken.objects.order_by("id"):
        table.add_row(
            t.name,
            t.prefix,
            f"{t.created_at:%Y-%m-%d %H:%M}",
            f"{t.last_used_at:%Y-%m-%d %H:%M}" if t.last_used_at else "-",
            "yes" if t.revoked else "",
        )
    Console().print(table)


@app.command("revoke")
def revoke(prefix: str = typer.Argument(..., help="The token's prefix, from `list`.")) -> None:
    """Revoke a token by its prefix."""
    setup_django()
    from fencun.api.models import ApiToken

    if not ApiToken.objects.filter(prefix=prefix).update(revoked=True):
        typer.echo(f"no token with prefix {prefix}", err=True)
        raise typer.Exit(1)
    typer.echo(f"revoked {prefix}")
