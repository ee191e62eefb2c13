"""The ``--lang`` options: the run's, on the app, and a command's own.

The run's language is settled by :class:`RunLanguage` from the command line and the
environment (:mod:`fencun.language`) before Click reads any option or shows any help; a
command's ``--lang`` changes it for that command's output.
"""

from __future__ import annotations

import os
from typing import Any

import typer
from typer.core import TyperGroup

from fencun import language
from fencun.language import gettext as _


class RunLanguage(TyperGroup):
    """The app's group: speaks the run's language from its first word on, and refuses a
    language fencun does not speak (in both languages, exit 2, before anything runs)."""

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        try:
            language.activate(language.for_run(language.option_in(args), os.environ))
        except language.UnknownLanguage as exc:
            typer.echo(str(exc), err=True)
            ctx.exit(2)
        if _only_the_language(args):
            args = []  # `fencun --lang en` shows the help, as `fencun` does
        return super().parse_args(ctx, args)


def _only_the_language(args: list[str]) -> bool:
    if len(args) == 1:
        return args[0].startswith(language.OPTION + "=")
    return len(args) == 2 and args[0] == language.OPTION


def run_option() -> Any:
    """The app's ``--lang`` (read by :class:`RunLanguage`; declared here for Click and the help)."""
    return typer.Option(
        None,
        language.OPTION,
        metavar="zh-hans|en",
        show_default=False,
        help=_(
            "Language of everything this run prints: zh-hans or en (default: FENCUN_LANG, "
            "else LANG or LC_ALL, else zh-hans)."
        ),
    )


def command_option() -> Any:
    """A command's own ``--lang``: its value (``zh-hans`` or ``en``) is the language the
    command speaks, the run's unless given."""
    return typer.Option(
        None,
        language.OPTION,
        metavar="zh-hans|en",
        show_default=False,
        help=_("Language of this command's output: zh-hans or en (default: the run's language)."),
        callback=_command_language,
    )


def _command_language(value: str | None) -> str:
    if value is None:
        return language.active()
    try:
        code = language.parse(value, language.OPTION)
    except language.UnknownLanguage as exc:
        raise typer.BadParameter(str(exc)) from None
    language.activate(code)
    return code
