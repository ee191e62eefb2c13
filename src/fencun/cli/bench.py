"""``fencun bench NAME --json``: the benchmarks. Each prints one JSON object of figures."""

from __future__ import annotations

import typer

from fencun.bench import planner

app = typer.Typer(help="Benchmarks; each prints one JSON object with its figures.", no_args_is_help=True)
app.command("planner")(planner.command)
