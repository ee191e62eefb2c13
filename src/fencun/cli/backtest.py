"""``fencun backtest``: run a policy against a world for a scenario and print the outcome."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from fencun import inputs
from fencun.backtest.runner import (
    POLICIES,
    BacktestError,
    load_world_factory,
    parse_scenario,
    run_backtest,
)
from fencun.language import gettext as _

HELP = _(
    "Backtest a policy against simulated followers: the real planner, day by day on a "
    "simulated calendar."
)
# The result's figures, in the order printed, with their labels.
FIGURES = {
    "sent": _("messages sent"),
    "orders": _("orders"),
    "revenue": _("revenue (yuan)"),
    "unfollows": _("unfollows"),
    "followers_start": _("followers at the start"),
    "followers_end": _("followers at the end"),
    "seconds": _("seconds taken"),
}


def backtest(
    scenario: Path = typer.Option(..., "--scenario", help=_("Scenario JSON file.")),  # noqa: B008
    world: str = typer.Option(
        "fencun.worlds.furniture:world", "--world", help=_("MODULE:FACTORY of the world.")
    ),
    policy: str = typer.Option(
        "fencun",
        "--policy",
        help=_("The policy: %(policies)s.") % {"policies": " | ".join(POLICIES)},
    ),
    days: int = typer.Option(90, "--days", min=1, help=_("Simulated days.")),
    seed: int = typer.Option(0, "--seed", help=_("Seed of the world and of the planner's draws.")),
    json_: bool = typer.Option(False, "--json", help=_("Print one JSON object only.")),
    no_references: bool = typer.Option(
        False,
        "--no-references",
        help=_("Skip the oracle and none runs on the same seed (worlds with expected())."),
    ),
) -> None:
    """Backtest a policy: the real planner, day by day on a simulated calendar."""
    try:
        raw = json.loads(inputs.read_file(scenario).decode("utf-8"))
    except FileNotFoundError:
        typer.echo(
            _("error: the scenario file does not exist: %(file)s") % {"file": scenario}, err=True
        )
        raise typer.Exit(2) from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, inputs.FileTooLarge) as exc:
        typer.echo(
            _("error: cannot read the scenario file %(file)s: %(reason)s")
            % {"file": scenario, "reason": exc},
            err=True,
        )
        raise typer.Exit(2) from None
    try:
        # Refuse bad input before anything is drawn on the terminal.
        if policy not in POLICIES:
            raise BacktestError(
                _("policy %(policy)r: one of %(policies)s")
                % {"policy": policy, "policies": ", ".join(POLICIES)}
            )
        parse_scenario(raw)
        load_world_factory(world)
        if json_:
            result = run_backtest(raw, world, policy, days, seed, references=not no_references)
        else:
            from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

            with Progress(
                TextColumn(_("backtest %(what)s") % {"what": "{task.description}"}),
                BarColumn(),
                TextColumn(
                    _("%(done)s/%(days)s days")
                    % {"done": "{task.completed}", "days": "{task.total}"}
                ),
                TimeElapsedColumn(),
            ) as bar:
                task = bar.add_task(f"{policy} @ {world}", total=days)
                result = run_backtest(
                    raw,
                    world,
                    policy,
                    days,
                    seed,
                    progress=lambda done, _total: bar.update(task, completed=done),
                    references=not no_references,
                )
    except BacktestError as exc:
        typer.echo(_("error: %(reason)s") % {"reason": exc}, err=True)
        raise typer.Exit(2) from None
    if json_:
        typer.echo(json.dumps(result, ensure_ascii=False))
        return
    _print(result)


def _print(result: dict) -> None:
    """The figures as a two-column table (Rich measures Chinese labels' width)."""
    table = Table.grid(padding=(0, 2))
    table.add_column(justify="right")
    table.add_column()
    for key, label in FIGURES.items():
        table.add_row(label, str(result[key]))
    broken = {k: v for k, v in result["violations"].items() if v}
    table.add_row(_("rules broken"), str(broken) if broken else _("none"))
    if "vs_oracle" in result:
        for ref, figures in result["references"].items():
            table.add_row(
                ref,
                _("revenue %(revenue)s, unfollows %(unfollows)s")
                % {"revenue": figures["revenue"], "unfollows": figures["unfollows"]},
            )
        table.add_row(_("against the oracle"), str(result["vs_oracle"]))
    Console().print(table)
