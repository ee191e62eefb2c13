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
from fencun.bench import journeys as journeys_bench
from fencun.bench import shards as shards_bench
from fencun.bench import sync as sync_bench
from fencun.language import gettext as _

app = typer.Typer(
    help=_("Benchmarks; each prints one JSON object with its figures."), no_args_is_help=True
)
app.command(
    "planner",
    help=_("Time one whole plan for N followers x K campaigns; report seconds and peak RSS."),
)(planner.command)
app.command(
    "gateway",
    help=_("Callbacks per second, latency and storage completeness of the WeChat gateway."),
)(gateway.command)
app.command(
    "insights", help=_("p50/p99 of the overview and a campaign report on a large event log.")
)(insights_bench.command)
app.command(
    "sync", help=_("Followers/s and peak memory of a full `fencun sync` against the sandbox.")
)(sync_bench.command)
app.command(
    "delivery",
    help=_(
        "Delivery: plan, enqueue and deliver a campaign to the sandbox; sends/s, duplicates, losses."
    ),
)(delivery_bench.command)
app.command("ingest", help=_("Callbacks stored per second by one process, without the network."))(
    ingest_bench.command
)
app.command(
    "decisions",
    help=_(
        "Every world x scenario x policy x seed: fencun against the oracle, none, capped and simple."
    ),
)(decisions_bench.command)
app.command(
    "dry-run",
    help=_("Time a dry run end to end over a long log, and the next after a day of events."),
)(dryrun_bench.command)
app.command(
    "shards",
    help=_(
        "Plan an account in shards, one process each, merged under the account-wide caps; "
        "time it, and check it against one unsharded plan at a size that fits."
    ),
)(shards_bench.command)
app.command(
    "journeys",
    help=_("The journey scheduler's cost to find the due steps among many followers inside."),
)(journeys_bench.command)
app.command(
    "demo",
    help=_("The headless demo (`fencun demo --no-serve`), timed end to end in fresh processes."),
)(demo_bench.command)
