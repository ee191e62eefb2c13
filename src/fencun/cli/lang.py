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
        speak_typer()
        if _only_the_language(args):
            args = []  # `fencun --lang en` shows the help, as `fencun` does
        return super().parse_args(ctx, args)


def speak_typer() -> None:
    """Typer's own words on a help page and an error panel -- Usage, the panels' titles,
    the help option's help -- in the run's language: Typer keeps them as fixed English
    strings (module constants and literals), so they are set here for the run."""
    from typer import rich_utils
    from typer._click import core, formatting

    rich_utils.ARGUMENTS_PANEL_TITLE = _("Arguments")
    rich_utils.OPTIONS_PANEL_TITLE = _("Options")
    rich_utils.COMMANDS_PANEL_TITLE = _("Commands")
    rich_utils.ERRORS_PANEL_TITLE = _("Error")
    rich_utils.RICH_HELP = _("Try [blue]'{command_path} {help_option}'[/] for help.")
    rich_utils.DEFAULT_STRING = _("[default: {}]")
    rich_utils.REQUIRED_LONG_STRING = _("[required]")
    if getattr(formatting.HelpFormatter.write_usage, "_fencun", False):
        return
    write_usage = formatting.HelpFormatter.write_usage
    get_help_option = core.Command.get_help_option

    def usage(self: Any, prog: str, args: str = "", prefix: str | None = None) -> None:
        write_usage(self, prog, args, _("Usage:") + " " if prefix is None else prefix)

    def help_option(self: Any, ctx: Any) -> Any:
        option = get_help_option(self, ctx)
        if option is not None:
            option.help = _("Show this message and exit.")
        return option

    usage._fencun = True  # type: ignore[attr-defined]
    formatting.HelpFormatter.write_usage = usage  # type: ignore[method-assign]
    core.Command.get_help_option = help_option  # type: ignore[method-assign]


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
