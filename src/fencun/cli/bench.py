"""``fencun bench NAME --json``: the benchmarks. Each prints one JSON object of figures."""

from __future__ import annotations

import typer

from fencun.bench import decisions as decisions_bench
from fencun.bench import delivery as delivery_bench
from fencun.bench import demo as demo_bench
from fencun.bench import dryrun as dryrun_bench
from fencun.bench import gateway, planner
from fencun.bench import ingest as ingest_bench
from fencun.bench import insights as insights_bench
from fencun.bench import shards as shards_bench
from fencun.bench import sync as sync_bench

app = typer.Typer(help="Benchmarks; each prints one JSON object with its figures.", no_args_is_help=True)
app.command("planner")(planner.command)
app.command("gateway")(gateway.command)
app.command("insights")(insights_bench.command)
app.command("sync")(sync_bench.command)
app.command("delivery")(delivery_bench.command)
app.command("ingest")(ingest_bench.command)
app.command("decisions")(decisions_bench.command)
app.command("dry-run")(dryrun_bench.command)
app.command("shards")(shards_bench.command)
app.command("demo")(demo_bench.command)
