"""``fencun import-products`` and ``fencun import-stores``: catalog CSV imports, all rows or none."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import typer

from fencun.cli.lang import command_option
from fencun.datadir import setup_django
from fencun.language import gettext as _

# The Django apps are imported inside the commands: a command sets Django up first (its
# data dir and settings come from its options), and `fencun --help` loads none of them.

PRODUCTS_HELP = _(
    "Import products from CSV (UTF-8, UTF-8 with BOM or GBK); a bad row imports nothing."
)
STORES_HELP = _(
    "Import stores from CSV; coordinates are converted to GCJ-02; a bad row imports nothing."
)
ACCOUNT_HELP = _("AppID of the account (default: the default account).")
PRODUCTS_FILE_HELP = _(
    "CSV: sku, name, price (yuan)[, category, category_name, large_item, image_url, link_url, active]"
)
STORES_FILE_HELP = _("CSV: name, lat, lng[, address, datum (gcj02|wgs84)]")


def _read(file: Path) -> bytes:
    """The file's bytes, read with the catalog's size limit (needs Django set up)."""
    from fencun import inputs
    from fencun.catalog.services import MAX_BYTES

    try:
        return inputs.read_file(file, MAX_BYTES)
    except inputs.FileTooLarge as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(2) from None
    except OSError as exc:
        typer.echo(
            _("cannot read %(file)s: %(reason)s") % {"file": file, "reason": exc.strerror}, err=True
        )
        raise typer.Exit(2) from None


def _account(app_id: str):
    from fencun.accounts.current import default_account
    from fencun.accounts.models import Account

    acct = Account.objects.filter(app_id=app_id).first() if app_id else default_account()
    if acct is None:
        typer.echo(_("no such account (give --account APPID)"), err=True)
        raise typer.Exit(2)
    return acct


def _import(
    file: Path, account: str, lang: str, what: str, run: Callable[[Any, Any, bytes], Any]
) -> None:
    """Read ``file``, run the import in the account's language, report rows or errors."""
    setup_django()  # before anything that touches settings or models
    from django.utils import translation

    from fencun.catalog import services

    with translation.override(lang):
        raw = _read(file)
        acct = _account(account)
        try:
            result = run(services, acct, raw)
        except services.CatalogImportError as exc:
            for error in exc.errors:
                typer.echo(str(error), err=True)
            typer.echo(services.nothing_imported(what), err=True)
            raise typer.Exit(1) from None
        typer.echo(result.summary())


def import_products(
    file: Path = typer.Argument(..., help=PRODUCTS_FILE_HELP),  # noqa: B008
    account: str = typer.Option("", "--account", help=ACCOUNT_HELP),
    lang: str = command_option(),
) -> None:
    """Import products from CSV (UTF-8, UTF-8 with BOM or GBK); a bad row imports nothing."""
    _import(
        file,
        account,
        lang,
        "products",
        lambda services, acct, raw: services.import_products(acct, raw),
    )


def import_stores(
    file: Path = typer.Argument(..., help=STORES_FILE_HELP),  # noqa: B008
    account: str = typer.Option("", "--account", help=ACCOUNT_HELP),
    datum: str = typer.Option(
        "", "--datum", help=_("Datum of rows without a datum column: gcj02 | wgs84.")
    ),
    lang: str = command_option(),
) -> None:
    """Import stores from CSV; coordinates are converted to GCJ-02; a bad row imports nothing."""
    _import(
        file,
        account,
        lang,
        "stores",
        lambda services, acct, raw: services.import_stores(acct, raw, default_datum=datum or None),
    )
