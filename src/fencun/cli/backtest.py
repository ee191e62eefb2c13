"""``fencun backtest``: run a policy against a world for a scenario and print the outcome."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from fencun import inputs
from fencun.backtest.runner import (
    POLICIES,
    BacktestError,
    load_world_factory,
    parse_scenario,
    run_backtest,
)


def backtest(
    scenario: Path = typer.Option(..., "--scenario", help="Scenario JSON file."),  # noqa: B008
    world: str = typer.Option(
        "fencun.worlds.furniture:world", "--world", help="MODULE:FACTORY of the world."
    ),
    policy: str = typer.Option("fencun", "--policy", help=" | ".join(POLICIES)),
    days: int = typer.Option(90, "--days", min=1, help="Simulated days."),
    seed: int = typer.Option(0, "--seed", help="Seed of the world and of the planner's draws."),
    json_: bool = typer.Option(False, "--json", help="Print one JSON object only."),
    no_references: bool = typer.Option(
        False,
        "--no-references",
        help="Skip the oracle and none runs on the same seed (worlds with expected()).",
    ),
) -> None:
    """按模拟日历逐日运行真实的规划器，对模拟粉丝群体回测一个策略。"""
    try:
        raw = json.loads(inputs.read_file(scenario).decode("utf-8"))
    except FileNotFoundError:
        typer.echo(f"错误：场景文件不存在：{scenario}", err=True)
        raise typer.Exit(2) from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, inputs.FileTooLarge) as exc:
        typer.echo(f"错误：无法读取场景文件 {scenario}：{exc}", err=True)
        raise typer.Exit(2) from None
    try:
        # Refuse bad input before anything is drawn on the terminal.
        if policy not in POLICIES:
            raise BacktestError(f"policy {policy!r}: one of {', '.join(POLICIES)}")
        parse_scenario(raw)
        load_world_factory(world)
        if json_:
            result = run_backtest(raw, world, policy, days, seed, references=not no_references)
        else:
            from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

            with Progress(
                TextColumn("回测 {task.description}"),
                BarColumn(),
                TextColumn("{task.completed}/{task.total} 天"),
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
        typer.echo(f"错误：{exc}", err=True)
        raise typer.Exit(2) from None
    if json_:
        typer.echo(json.dumps(result, ensure_ascii=False))
        return
    keys = ("sent", "orders", "revenue", "unfollows", "followers_start", "followers_end", "seconds")
    for key in keys:
        typer.echo(f"{key:>16}: {result[key]}")
    broken = {k: v for k, v in result["violations"].items() if v}
    typer.echo(f"{'violations':>16}: {broken or 'none'}")
    if "vs_oracle" in result:
        for ref, figures in result["references"].items():
            typer.echo(f"{ref:>16}: revenue {figures['revenue']}, unfollows {figures['unfollows']}")
        typer.echo(f"{'vs oracle':>16}: {result['vs_oracle']}")
