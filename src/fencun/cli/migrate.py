"""``fencun migrate``: bring the database's schema up to date; safe to run again."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import typer

from fencun.cli.lang import command_option
from fencun.datadir import setup_django
from fencun.language import gettext as _
from fencun.language import ngettext

# The Django apps are imported inside the command: it sets Django up first (its data dir
# and settings come from the environment), and `fencun --help` loads none of them.

HELP = _(
    "Apply the pending database migrations (DATABASE_URL, or SQLite in the data dir); "
    "safe to rerun: with nothing pending it changes nothing."
)
# Session-level PostgreSQL advisory lock held while migrating ("fencun" in ASCII): two
# machines running `fencun migrate` at once take turns, and the second finds nothing left.
ADVISORY_LOCK = 0x66656E63756E
# A migration list longer than this is shown as its first and last name.
NAMES_SHOWN = 3


def migrate(lang: str = command_option()) -> None:
    """Apply the pending database migrations; safe to rerun."""
    from django.core.exceptions import ImproperlyConfigured

    try:
        setup_django(migrate=False)
    except (ImproperlyConfigured, ValueError, OSError) as exc:
        # A refused setting or an unusable data dir. Settings that do not load leave
        # Django's translations unusable; the command line's own gettext reads the same
        # catalogue without them.
        typer.echo(
            _("fencun cannot start with this configuration: %(error)s") % {"error": _line(exc)},
            err=True,
        )
        raise typer.Exit(2) from None
    from django.utils import translation

    with translation.override(lang):
        _migrate()


def _migrate() -> None:
    from django.core.management import call_command
    from django.core.management.base import CommandError
    from django.db import DatabaseError, connection
    from django.db.migrations.exceptions import MigrationSchemaMissing
    from django.db.migrations.executor import MigrationExecutor

    where = describe(connection.settings_dict)
    try:
        connection.ensure_connection()
    except DatabaseError as exc:
        typer.echo(
            _("cannot connect to the database %(database)s: %(error)s")
            % {"database": where, "error": _line(exc)},
            err=True,
        )
        raise typer.Exit(1) from None
    started = time.monotonic()
    try:
        with _exclusive(connection):
            executor = MigrationExecutor(connection)
            plan = [
                migration
                for migration, backwards in executor.migration_plan(
                    executor.loader.graph.leaf_nodes()
                )
                if not backwards
            ]
            if plan:
                call_command("migrate", interactive=False, verbosity=0)
    except (DatabaseError, CommandError, MigrationSchemaMissing) as exc:
        typer.echo(
            _("migrating the database %(database)s failed: %(error)s")
            % {"database": where, "error": _line(exc)},
            err=True,
        )
        raise typer.Exit(1) from None
    if not plan:
        typer.echo(
            _("The database %(database)s is up to date: no migration was pending.")
            % {"database": where}
        )
        return
    typer.echo(
        ngettext(
            "Applied %(count)d migration to the database %(database)s in %(seconds).1f s:",
            "Applied %(count)d migrations to the database %(database)s in %(seconds).1f s:",
            len(plan),
        )
        % {"count": len(plan), "database": where, "seconds": time.monotonic() - started}
    )
    for app, names in _by_app(plan):
        typer.echo(f"  {app}: {_names(names)}")


@contextmanager
def _exclusive(connection: Any) -> Iterator[None]:
    """Hold the migration lock on PostgreSQL (waiting, with a line, for another holder)."""
    if connection.vendor != "postgresql":
        yield
        return
    from django.db import DatabaseError

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s)", [ADVISORY_LOCK])
        if not cursor.fetchone()[0]:
            typer.echo(
                _("another fencun migrate is running on this database: waiting for it to finish"),
                err=True,
            )
            cursor.execute("SELECT pg_advisory_lock(%s)", [ADVISORY_LOCK])
    try:
        yield
    finally:
        # A lost connection has released the lock with its session.
        with contextlib.suppress(DatabaseError), connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s)", [ADVISORY_LOCK])


def describe(settings_dict: dict[str, Any]) -> str:
    """The database as an operator names it, never with its password: ``SQLite <file>``,
    ``PostgreSQL <user>@<host>:<port>/<name>``, or ``PostgreSQL <name>`` over the local
    Unix socket."""
    if settings_dict["ENGINE"].endswith("sqlite3"):
        return f"SQLite {settings_dict['NAME']}"
    if not settings_dict.get("HOST"):
        return f"PostgreSQL {settings_dict['NAME']}"
    user = f"{settings_dict['USER']}@" if settings_dict.get("USER") else ""
    port = f":{settings_dict['PORT']}" if settings_dict.get("PORT") else ""
    return f"PostgreSQL {user}{settings_dict['HOST']}{port}/{settings_dict['NAME']}"


def _by_app(plan: list[Any]) -> list[tuple[str, list[str]]]:
    """The applied migrations' names grouped by app, in the order they were applied."""
    apps: dict[str, list[str]] = {}
    for migration in plan:
        apps.setdefault(migration.app_label, []).append(migration.name)
    return list(apps.items())


def _names(names: list[str]) -> str:
    if len(names) <= NAMES_SHOWN:
        return ", ".join(names)
    return f"{names[0]} … {names[-1]} ({len(names)})"


def _line(exc: BaseException) -> str:
    """The first line of an error's message (a driver's error may add hints below it)."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    return lines[0] if lines else type(exc).__name__
