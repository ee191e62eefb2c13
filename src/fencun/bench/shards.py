"""``fencun bench shards``: one account's plan in shards by follower id, each shard in a
process of its own, merged under the account-wide rules (:mod:`fencun.engine.shards`).

N synthetic followers with WeChat-shaped openids are routed to S shards by the hash of
their openid (:func:`fencun.engine.shards.shard_of`). Each shard is a process that builds
its shard's state the way ``fencun bench planner`` builds its own (the same generator,
seeded ``[seed, shard]``, with the shard's openids) and keeps it, as a shard planner on
its own machine keeps its snapshot loaded. The account's pooled contrasts are drawn once
(the planner bench's recipe for N followers) and split evenly between the shards, so
that the account's statistics are the same whatever S. The parent is the coordinator: it runs the engine's sharded plan
(:func:`fencun.engine.shards.plan_account`), each step on every shard, adding the shards'
figures in between. At most ``--jobs`` shards work at once (the others wait with their
state loaded), so on a machine of two cores ten shards are ten planners sharing two cores.

Figures: ``seconds``, the plan end to end (wall, from the first step to the account's
summaries; building the states is ``build_seconds``); per shard its own working time per
step and in all (``plan_seconds``) and its process's peak resident memory: ``peak_rss_mb``
over its life (``ru_maxrss``: the build's temporaries, the state and the plan), and on
Linux, where the peak can be started over after the build, ``state_rss_mb`` (the process
holding its state) and ``plan_peak_rss_mb`` (the plan's peak, the state included);
``merge_seconds``, the coordinator's own time between the steps. The plan is the
production default, with Thompson draws.

The check (``--check-followers``, 200,000 by default; 0 skips it) plans an account small
enough to plan in one piece both ways: its shards, in processes as above, and the same
shards joined into one state (:func:`fencun.engine.shards.join`) planned by ``plan()``.
Deciding on posterior means (``explore=False``) the two must choose the same campaign and
give every follower the same reason; with draws each shard draws its own, so the share of
followers with the same reasons is reported instead.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import platform
import resource
import time
import traceback
from dataclasses import asdict
from multiprocessing.connection import Connection
from typing import Any

import numpy as np
import typer

from fencun.bench.planner import NOW, campaigns, openid_bytes, synthetic_state, synthetic_stats
from fencun.engine.planner import choose_mass_campaign, draft, plan
from fencun.engine.shards import ShardPlanner, join, plan_account, shard_of
from fencun.engine.state import FollowerState, PooledStats, openid_hash
from fencun.language import gettext

ROUTE_BLOCK = 1_000_000  # followers routed at a time (openids drawn, hashed, split)


def _peak_rss_mb() -> float:
    """This process's peak resident memory (``ru_maxrss``, since the last reset), MB."""
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def _rss_mb() -> float | None:
    """This process's resident memory now, MB (None where /proc is not Linux's)."""
    try:
        with open("/proc/self/statm") as fh:
            pages = int(fh.read().split()[1])
    except (OSError, ValueError, IndexError):
        return None
    return round(pages * os.sysconf("SC_PAGE_SIZE") / 2**20, 1)


def _reset_peak_rss() -> bool:
    """Start the peak over from the memory held now (Linux: ``clear_refs`` 5), so that the
    plan's peak is told apart from the build's; False where that cannot be done."""
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
    except OSError:
        return False
    return True


def _build_shard(
    openid_array: np.ndarray, followers: int, shard: int, shards: int, seed: int
) -> tuple[FollowerState, dict[str, Any]]:
    """A shard's state, as the planner bench builds an account's, and what it took."""
    openids = openid_array.astype(str).tolist()
    state = synthetic_state(len(openids), [seed, shard], openids)
    # Its share of the account's contrasts: one draw for the account, the same in every
    # shard, split evenly.
    state.stats = PooledStats(len(state.categories))
    synthetic_stats(state.stats, followers, np.random.default_rng([seed, followers]), 1 / shards)
    build_peak = _peak_rss_mb()
    return state, {
        "followers": state.n,
        "routed": bool((shard_of(state.openid_hash, shards) == shard).all()),
        "build_peak_rss_mb": build_peak,
        "peak_reset": _reset_peak_rss(),
        "state_rss_mb": _rss_mb(),
    }


def _shard_process(
    conn: Connection,
    slot: Any,
    shard: int,
    shards: int,
    seed: int,
    n_campaigns: int,
    account_type: str,
) -> None:
    """A shard's process: builds the shard's state, then answers the coordinator's
    commands one by one, working only while it holds one of the ``--jobs`` slots."""
    state: FollowerState | None = None
    planner: ShardPlanner | None = None
    while True:
        command, argument = conn.recv()
        if command == "exit":
            return
        try:
            with slot:
                t0 = time.perf_counter()
                result: Any = None
                if command == "build":
                    openid_array, followers = argument
                    state, result = _build_shard(openid_array, followers, shard, shards, seed)
                elif command == "planner":
                    assert state is not None
                    planner = ShardPlanner(
                        state,
                        campaigns(n_campaigns),
                        NOW,
                        account_type=account_type,
                        seed=[seed, shard],
                        explore=bool(argument),
                    )
                elif command == "codes":
                    assert planner is not None and planner.plan is not None
                    result = planner.plan.codes
                elif command == "arrays":
                    assert state is not None
                    result = state.to_arrays()
                else:
                    assert planner is not None
                    result = getattr(planner, command)(argument)
                seconds = time.perf_counter() - t0
        except Exception:  # the coordinator raises it with the shard's traceback
            conn.send(("error", traceback.format_exc()))
            continue
        # Sent outside the slot: a shard blocked on a full pipe never holds a core's turn.
        conn.send(("ok", (result, seconds, _peak_rss_mb())))


class ShardProcesses:
    """The shards' processes, started before any thread of the parent (a fork copies
    only the thread that forks)."""

    def __init__(
        self, shards: int, jobs: int, seed: int, n_campaigns: int, account_type: str
    ) -> None:
        if "fork" in multiprocessing.get_all_start_methods():
            ctx: Any = multiprocessing.get_context("fork")
        else:
            ctx = multiprocessing.get_context("spawn")
        slot = ctx.Semaphore(jobs)
        self.conns: list[Connection] = []
        self.procs: list[Any] = []
        for s in range(shards):
            mine, theirs = ctx.Pipe()
            proc = ctx.Process(
                target=_shard_process,
                args=(theirs, slot, s, shards, seed, n_campaigns, account_type),
                daemon=True,
            )
            proc.start()
            theirs.close()
            self.conns.append(mine)
            self.procs.append(proc)

    def each(
        self, command: str, arguments: list[Any], progress: Any = None, task: Any = None
    ) -> list[tuple[Any, float, float]]:
        """Run ``command`` on every shard (argument ``arguments[s]``); per shard, in shard
        order: (result, its working seconds, its peak RSS in MB so far)."""
        for conn, argument in zip(self.conns, arguments, strict=True):
            conn.send((command, argument))
        out = []
        for s, conn in enumerate(self.conns):
            status, payload = conn.recv()
            if status == "error":
                raise RuntimeError(f"shard {s}, {command}:\n{payload}")
            out.append(payload)
            if progress is not None:
                progress.advance(task)
        return out

    def close(self) -> None:
        for conn in self.conns:
            conn.send(("exit", None))
        for proc in self.procs:
            proc.join(timeout=30)


def route(followers: int, shards: int, seed: int, progress: Any) -> list[np.ndarray]:
    """Draw ``followers`` openids and route each to its shard by its hash; per shard, its
    followers' openids (``S28`` arrays)."""
    rng = np.random.default_rng(seed)
    pieces: list[list[np.ndarray]] = [[] for _ in range(shards)]
    task = progress.add_task("route followers to shards", total=followers)
    for lo in range(0, followers, ROUTE_BLOCK):
        ids = openid_bytes(min(ROUTE_BLOCK, followers - lo), rng)
        hashes = np.fromiter(
            (openid_hash(o) for o in ids.astype(str).tolist()), np.uint64, ids.size
        )
        shard = shard_of(hashes, shards)
        for s in range(shards):
            pieces[s].append(ids[shard == s])
        progress.advance(task, ids.size)
    return [np.concatenate(p) for p in pieces]


class Coordinator:
    """The engine's coordinator over the shard processes, timing each step."""

    def __init__(self, group: ShardProcesses, progress: Any, label: str) -> None:
        self.group = group
        self.progress = progress
        self.label = label
        self.step_seconds: dict[str, float] = {}  # wall per step, all shards
        self.shard_seconds: list[dict[str, float]] = [{} for _ in group.conns]
        self.peak_rss_mb = [0.0 for _ in group.conns]

    def call(self, step: str, argument: Any) -> list[Any]:
        n = len(self.group.conns)
        task = self.progress.add_task(f"{self.label}: {step}", total=n)
        t0 = time.perf_counter()
        out = self.group.each(step, [argument] * n, self.progress, task)
        self.step_seconds[step] = time.perf_counter() - t0
        for s, (_, seconds, rss) in enumerate(out):
            self.shard_seconds[s][step] = seconds
            self.peak_rss_mb[s] = max(self.peak_rss_mb[s], rss)
        return [result for result, _, _ in out]

    def plan(self, n_campaigns: int, account_type: str) -> tuple[Any, float, float]:
        """The sharded plan: (the engine's AccountPlan, wall seconds, merge seconds)."""
        t0 = time.perf_counter()
        account = plan_account(self.call, campaigns(n_campaigns), account_type)
        seconds = time.perf_counter() - t0
        return account, seconds, seconds - sum(self.step_seconds.values())


def _build(
    group: ShardProcesses, openids: list[np.ndarray], progress: Any, label: str
) -> list[dict[str, Any]]:
    task = progress.add_task(f"{label}: build the shards' states", total=len(openids))
    followers = sum(len(o) for o in openids)
    built = group.each("build", [(o, followers) for o in openids], progress, task)
    return [{**result, "build_seconds": round(seconds, 3)} for result, seconds, _ in built]


def _progress(quiet: bool) -> Any:
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    progress = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=Console(stderr=True),
        transient=False,
    )
    progress.disable = quiet
    return progress


def measure(
    followers: int,
    shards: int,
    jobs: int,
    n_campaigns: int,
    account_type: str,
    seed: int,
    explore: bool = True,
    quiet: bool = False,
) -> dict[str, Any]:
    """Build the shards (not timed in ``seconds``), then time the sharded plan."""
    group = ShardProcesses(shards, jobs, seed, n_campaigns, account_type)
    load_before = os.getloadavg()[0]
    try:
        with _progress(quiet) as progress:
            t0 = time.perf_counter()
            openids = route(followers, shards, seed, progress)
            route_seconds = time.perf_counter() - t0
            details = _build(group, openids, progress, "plan")
            del openids
            build_seconds = time.perf_counter() - t0
            group.each("planner", [explore] * shards)
            coordinator = Coordinator(group, progress, "plan")
            account, seconds, merge_seconds = coordinator.plan(n_campaigns, account_type)
    finally:
        group.close()
    for s, detail in enumerate(details):
        own = coordinator.shard_seconds[s]
        # After the build the peak starts over (where it can): the plan's own peak, the
        # state included, apart from the generator's.
        plan_peak = coordinator.peak_rss_mb[s]
        detail.update(
            shard=s,
            plan_seconds=round(sum(own.values()), 3),
            step_seconds={k: round(v, 3) for k, v in own.items()},
            plan_peak_rss_mb=plan_peak if detail["peak_reset"] else None,
            peak_rss_mb=max(plan_peak, detail["build_peak_rss_mb"]),
        )
    plan_seconds = [d["plan_seconds"] for d in details]
    return {
        "bench": "shards",
        "followers": followers,
        "shards": shards,
        "jobs": jobs,
        "campaigns": n_campaigns,
        "account_type": account_type,
        "explore": explore,
        "seconds": round(seconds, 3),
        "merge_seconds": round(merge_seconds, 4),
        "step_seconds": {k: round(v, 3) for k, v in coordinator.step_seconds.items()},
        "shard_plan_seconds": {
            "min": min(plan_seconds),
            "mean": round(float(np.mean(plan_seconds)), 3),
            "max": max(plan_seconds),
        },
        "peak_rss_mb": max(d["peak_rss_mb"] for d in details),
        "peak_rss_mb_all_shards": round(sum(d["peak_rss_mb"] for d in details), 1),
        "plan_peak_rss_mb": max((d["plan_peak_rss_mb"] or 0.0) for d in details) or None,
        "state_rss_mb": max((d["state_rss_mb"] or 0.0) for d in details) or None,
        "coordinator_rss_mb": _peak_rss_mb(),
        "route_seconds": round(route_seconds, 2),
        "build_seconds": round(build_seconds, 2),
        "routed": all(d["routed"] for d in details),
        "mass_campaign": account.mass_campaign,
        "sent": sum(s.sent for s in account.summaries),
        "held_back": sum(sum(s.held_back.values()) for s in account.summaries),
        "sent_by_campaign": {s.campaign_id: s.sent for s in account.summaries},
        "per_shard": details,
        "load_average": [round(load_before, 2), round(os.getloadavg()[0], 2)],
    }


def check(
    followers: int,
    shards: int,
    jobs: int,
    n_campaigns: int,
    account_type: str,
    seed: int,
    quiet: bool = False,
) -> dict[str, Any]:
    """The sharded plan against ``plan()`` of the same followers in one piece, deciding on
    posterior means (must be equal) and with draws (agreement reported)."""
    group = ShardProcesses(shards, jobs, seed, n_campaigns, account_type)
    camps = campaigns(n_campaigns)
    out: dict[str, Any] = {"followers": followers, "shards": shards}
    try:
        with _progress(quiet) as progress:
            openids = route(followers, shards, seed, progress)
            _build(group, openids, progress, "check")
            arrays = [a for a, _, _ in group.each("arrays", [None] * shards)]
            whole = join([FollowerState.from_arrays(a) for a in arrays])
            del arrays
            for explore in (False, True):
                group.each("planner", [explore] * shards)
                account, _, _ = Coordinator(group, progress, "check").plan(
                    n_campaigns, account_type
                )
                codes = np.concatenate(
                    [c for c, _, _ in group.each("codes", [None] * shards)], axis=1
                )
                d = draft(whole, camps, NOW, account_type=account_type, seed=seed, explore=explore)
                chosen = choose_mass_campaign(camps, d.totals(), account_type)
                t0 = time.perf_counter()
                reference = plan(
                    whole, camps, NOW, account_type=account_type, seed=seed, explore=explore
                )
                whole_seconds = time.perf_counter() - t0
                differ = (codes != reference.codes).any(axis=0)
                out["explore" if explore else "posterior_means"] = {
                    "mass_campaign_sharded": account.mass_campaign,
                    "mass_campaign_whole": chosen,
                    "same_campaign": account.mass_campaign == chosen,
                    "same_recipients": all(
                        np.array_equal(codes[j] == 0, reference.codes[j] == 0)
                        for j in range(len(camps))
                    ),
                    "same_reasons": not bool(differ.any()),
                    "followers_with_other_reasons": int(differ.sum()),
                    "agreement": round(1.0 - float(differ.mean()), 4),
                    "summaries_equal": [asdict(s) for s in account.summaries]
                    == [asdict(s) for s in reference.summaries],
                    "sent_sharded": sum(s.sent for s in account.summaries),
                    "sent_whole": sum(s.sent for s in reference.summaries),
                    "whole_plan_seconds": round(whole_seconds, 3),
                }
    finally:
        group.close()
    return out


def command(
    followers: int = typer.Option(10_000_000, help=gettext("Synthetic followers of the account.")),
    shards: int = typer.Option(10, help=gettext("Shards (one process each), by openid hash.")),
    jobs: int = typer.Option(os.cpu_count() or 1, help=gettext("Shards working at once.")),
    campaigns_: int = typer.Option(3, "--campaigns", help=gettext("Competing campaigns.")),
    account_type: str = typer.Option(
        "subscription", help=gettext("The account type: subscription or service.")
    ),
    seed: int = typer.Option(0),
    check_followers: int = typer.Option(
        200_000, help=gettext("Followers of the check against one plan in a piece (0: no check).")
    ),
    json_: bool = typer.Option(False, "--json", help=gettext("Print one JSON object.")),
) -> None:
    """Plan an account in shards, one process each, merged under the account-wide caps;
    time it, and check it against one unsharded plan at a size that fits."""
    if followers < shards or shards < 1:
        raise typer.BadParameter(
            gettext("at least one follower per shard"), param_hint="--followers"
        )
    if jobs < 1:
        raise typer.BadParameter(gettext("at least 1"), param_hint="--jobs")
    if account_type not in ("subscription", "service"):
        raise typer.BadParameter(gettext("subscription or service"), param_hint="--account-type")
    # Progress goes to stderr; stdout holds only the figures.
    figures = measure(followers, shards, jobs, campaigns_, account_type, seed)
    figures["machine"] = {
        "cpus": os.cpu_count(),
        "memory_gb": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1),
        "python": platform.python_version(),
        "numpy": np.__version__,
    }
    if check_followers:
        figures["check"] = check(
            max(check_followers, shards), shards, jobs, campaigns_, account_type, seed
        )
    if json_:
        typer.echo(json.dumps(figures))
    else:
        for key, value in figures.items():
            typer.echo(f"{key:>22}: {value}")
