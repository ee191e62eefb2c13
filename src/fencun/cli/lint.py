"""``fencun lint FILE``: the content lint on a message file (JSON, Markdown or plain text)."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.console import Console
from rich.text import Text

from fencun import inputs, language
from fencun.language import gettext as _

# The Django apps are imported inside the commands: a command sets Django up first (its
# data dir and settings come from its options), and `fencun --help` loads none of them.

MAX_BYTES = 1024 * 1024
STYLE = {"error": "bold white on red", "warning": "black on yellow", "info": "black on cyan"}
HELP = _("Lint a message; exits 1 when any finding is an error (it would block approval).")
FILE_HELP = _("Message: .json ({kind, title, digest, body, cover_url}) or .md/.txt")


def read_message(file: Path):
    """A ``Message`` from FILE: a JSON object, or Markdown/text (``# title`` or first line, then body)."""
    from fencun.content import Message

    # FileTooLarge is a ValueError: the caller reports it like any unreadable message.
    raw = inputs.read_file(file, MAX_BYTES)
    text = raw.decode("utf-8-sig")
    if file.suffix.lower() == ".json":
        data = json.loads(text)
        if not isinstance(data, dict):
            raise ValueError(_("the JSON must be an object with title, digest, body…"))
        return Message.from_dict(data)
    lines = text.replace("\r\n", "\n").split("\n")
    while lines and not lines[0].strip():
        lines.pop(0)
    title = lines.pop(0).strip().lstrip("#").strip() if lines else ""
    return Message(kind="news", title=title, body="\n".join(lines).strip("\n"))


def lint(
    file: Path = typer.Argument(..., help=FILE_HELP),  # noqa: B008
    as_json: bool = typer.Option(False, "--json", help=_("Print findings as JSON.")),
    english: bool = typer.Option(
        False, "--en", help=_("Findings in English, whatever the run's language (as --lang en).")
    ),
    account: str = typer.Option(
        "",
        "--account",
        help=_("AppID: check product cards and prices against this account's catalog."),
    ),
) -> None:
    """Lint a message; exits 1 when any finding is an error (it would block approval)."""
    if english:
        language.activate("en")
    from fencun.content import lint as run_lint
    from fencun.content.lint import has_errors

    try:
        message = read_message(file)
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        typer.echo(_("cannot read %(file)s: %(reason)s") % {"file": file, "reason": exc}, err=True)
        raise typer.Exit(2) from None
    findings = run_lint(message, _catalog(account) if account else None)
    if as_json:
        typer.echo(json.dumps([f.to_dict() for f in findings], ensure_ascii=False, indent=2))
    else:
        _print(Console(), message, findings)
    if has_errors(findings):
        raise typer.Exit(1)


def _catalog(app_id: str):
    from fencun.datadir import setup_django

    setup_django()
    from fencun.accounts.models import Account
    from fencun.catalog.services import catalog_for_lint

    acct = Account.objects.filter(app_id=app_id).first()
    if acct is None:
        typer.echo(_("no such account: %(app_id)s") % {"app_id": app_id}, err=True)
        raise typer.Exit(2)
    return catalog_for_lint(acct)


def _print(console: Console, message, findings) -> None:
    """The findings, each with its excerpt and fix, in the active language."""
    english = language.active() == "en"
    if not findings:
        console.print(_("No findings"))
        return
    labels = {"error": _("error"), "warning": _("warning"), "info": _("info")}
    for f in findings:
        label = labels[f.severity.value]
        head = Text()
        head.append(f" {label} ", style=STYLE[f.severity.value])
        head.append(f" {f.code}  {f.field}[{f.span[0]}:{f.span[1]}]  ")
        head.append(f.message_en if english else f.message_zh)
        console.print(head)
        source = (
            getattr(message, f.field, "")
            if isinstance(getattr(message, f.field, None), str)
            else ""
        )
        if source and f.span[1] > f.span[0]:
            line_start = source.rfind("\n", 0, f.span[0]) + 1
            line_end = source.find("\n", f.span[1])
            line_end = len(source) if line_end < 0 else line_end
            excerpt = Text("    ")
            excerpt.append(source[max(line_start, f.span[0] - 40) : f.span[0]])
            excerpt.append(source[f.span[0] : f.span[1]], style=STYLE[f.severity.value])
            excerpt.append(source[f.span[1] : min(line_end, f.span[1] + 40)])
            console.print(excerpt)
        fix = f.fix_en if english else f.fix_zh
        if fix:
            console.print(Text(f"    → {fix}", style="green"))
    counts = {s: sum(f.severity.value == s for f in findings) for s in ("error", "warning", "info")}
    console.print(
        _("%(errors)d error(s), %(warnings)d warning(s), %(infos)d info")
        % {"errors": counts["error"], "warnings": counts["warning"], "infos": counts["info"]}
    )
