"""``fencun bench planner``: one whole plan (rules, estimates, assignment, holdouts,
reasons, predictions) for N synthetic followers and K competing campaigns.

The measurement runs in a fresh child process, which reports its own wall time for the
plan and its peak resident memory (``ru_maxrss``, state included), so the figure is not
flattered by the parent's memory or warm caches.
"""

from __future__ import annotations

import json
import platform
import resource
import subprocess
import sys
import time
from collections.abc import Sequence
from typing import Any

import numpy as np
import typer

from fencun.engine.catalog import Category
from fencun.engine.clock import DAY, to_epoch
from fencun.engine.geo import nearest_store_km
from fencun.engine.planner import Campaign, Product, plan
from fencun.engine.state import PUSH_RING, FollowerState, PooledStats
from fencun.language import gettext

CATEGORIES = [
    Category("sofa", "沙发"),
    Category("bed", "床"),
    Category("mattress", "床垫"),
    Category("dining", "餐桌"),
    Category("wardrobe", "衣柜"),
    Category("decor", "软装"),
]
STORES = [(23.111, 114.416), (23.085, 114.380), (23.020, 114.470)]
NOW = "2025-04-15T10:00:00+08:00"
_ALPHABET = np.frombuffer(
    b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-", dtype=np.uint8
)


def openid_bytes(n: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` 28-character openids in WeChat's shape (``o`` + 27 url-safe characters), as a
    compact ``S28`` array; distinct but for a chance of about n^2 / 64^27."""
    chars = _ALPHABET[rng.integers(0, len(_ALPHABET), size=(n, 27))]
    raw = np.concatenate([np.full((n, 1), ord("o"), dtype=np.uint8), chars], axis=1)
    ids: np.ndarray = raw.view("S28").ravel()
    return ids


def synthetic_openids(n: int, rng: np.random.Generator) -> list[str]:
    """``n`` distinct 28-character openids in WeChat's shape (``o`` + 27 url-safe characters)."""
    ids = openid_bytes(n, rng).astype(str).tolist()
    if len(set(ids)) != n:  # 64**27 makes this astronomically unlikely; keep it correct anyway
        ids = [f"{o[:18]}{i:010d}" for i, o in enumerate(ids)]
    return ids


def synthetic_state(
    n: int, seed: int | Sequence[int] = 0, openids: list[str] | None = None
) -> FollowerState:
    """A plausible account of ``n`` followers with history, built column-wise. ``openids``:
    the followers' (``n`` of them; drawn when None), e.g. a shard's, seeded ``[seed, shard]``."""
    if openids is not None and len(openids) != n:
        raise ValueError(f"{len(openids)} openids for {n} followers")
    rng = np.random.default_rng(seed)
    now = to_epoch(NOW)
    c = len(CATEGORIES)
    state = FollowerState(CATEGORIES, STORES, capacity=n)
    has_loc = rng.random(n) < 0.4
    lat = np.where(has_loc, 23.1 + rng.normal(0, 0.15, n), np.nan)
    lng = np.where(has_loc, 114.41 + rng.normal(0, 0.15, n), np.nan)
    pushes = rng.integers(0, 6, n)
    push_times = np.full((n, PUSH_RING), np.nan)
    ages = rng.uniform(0.5, 30, (n, PUSH_RING)) * DAY
    slots = np.arange(PUSH_RING)[None, :] < pushes[:, None]
    push_times[slots] = now - ages[slots]
    evidence = (rng.exponential(0.6, (n, c)) * (rng.random((n, c)) < 0.3)).astype(np.float32)
    tag_bits = np.zeros((n, 2), dtype=np.uint64)
    tag_bits[:, 0] = (rng.random(n) < 0.1).astype(np.uint64)  # tag "vip" at bit 0
    state.tag_names.append("vip")
    state.scenes.extend(["ADD_SCENE_QR_CODE", "ADD_SCENE_SEARCH", "ADD_SCENE_PROFILE_CARD"])
    state.add_columns(
        synthetic_openids(n, rng) if openids is None else openids,
        {
            "subscribed": rng.random(n) < 0.97,
            "subscribed_at": now - rng.uniform(1, 700, n) * DAY,
            "scene": rng.integers(0, 3, n).astype(np.int16),
            "lat": lat,
            "lng": lng,
            "distance_km": nearest_store_km(lat, lng, STORES).astype(np.float32),
            "last_interaction_at": now - rng.exponential(20, n) * DAY,
            "last_message_at": np.where(
                rng.random(n) < 0.05, now - rng.uniform(0, 96, n) * 3600, np.nan
            ),
            "push_times": push_times,
            "push_count": pushes.astype(np.int32),
            "last_push_at": np.nanmax(np.where(slots, push_times, -np.inf), axis=1),
            "month_key": np.full(n, 2025 * 12 + 3, dtype=np.int32),
            "month_count": rng.integers(0, 5, n).astype(np.int16),
            "pressure": (pushes * 0.6).astype(np.float32),
            "pressure_at": np.full(n, now - DAY),
            "evidence": evidence,
            "evidence_at": np.full(n, now - 2 * DAY),
            "cat_last_push": np.where(
                rng.random((n, c)) < 0.2, now - rng.uniform(0, 20, (n, c)) * DAY, np.nan
            ),
            "cat_pushes": rng.poisson(1.0, (n, c)).astype(np.float32),
            "unanswered": rng.poisson(0.7, (n, c)).astype(np.float32),
            "orders": rng.poisson(0.05, n).astype(np.float32),
            "tag_bits": tag_bits,
        },
    )
    synthetic_stats(state.stats, n, rng)
    state.clock = now
    return state


def synthetic_stats(s: PooledStats, n: int, rng: np.random.Generator, share: float = 1.0) -> None:
    """Fill empty pooled statistics with the contrasts a season of campaigns leaves an
    account of ``n`` followers: pushes and controls in every cell. ``share``: the part of
    them one shard of the account holds (1 / shards)."""
    s.up_n += rng.integers(20, 2000, s.up_n.shape)
    s.up_n[1] *= 0.1
    s.up_o += s.up_n * rng.uniform(0.001, 0.03, s.up_n.shape)
    s.up_y += s.up_o * 2000.0
    s.up_y2 += s.up_o * 2000.0**2
    s.att_n += rng.integers(1000, 20000, s.att_n.shape)
    s.att_read += s.att_n * rng.uniform(0.2, 0.4, s.att_n.shape)
    s.unf_sent += rng.integers(5000, 50000, s.unf_sent.shape)
    s.unf_after += s.unf_sent * rng.uniform(0.001, 0.02, s.unf_sent.shape)
    s.follower_days, s.base_unfollows, s.revenue = n * 90.0, n * 0.02, n * 30.0
    if share != 1.0:
        for name, value in vars(s).items():
            if name not in ("n_categories", "orders"):
                setattr(s, name, value * share)


def campaigns(k: int) -> list[Campaign]:
    shapes = [
        ("flash", "sofa", True, "distance<30km or not has:location"),
        ("beds", "bed", False, "interest:bed>=0.1 or tag:vip"),
        ("decor", "decor", False, None),
        ("dining", "dining", False, "subscribed_days>30 and active_within:60d"),
        ("mattress", "mattress", False, "not scene:search"),
        ("wardrobe", "wardrobe", False, None),
    ]
    out = []
    for j in range(k):
        cid, cat, urgent, segment = shapes[j % len(shapes)]
        out.append(
            Campaign(
                id=f"{cid}-{j}",
                category=cat,
                products=(Product(f"{cat}-1", 1999.0 + 500 * j), Product(f"{cat}-2", 899.0)),
                urgent=urgent,
                segment=segment,
            )
        )
    return out


def measure(followers: int, n_campaigns: int, account_type: str, seed: int) -> dict[str, Any]:
    """Build the state (not timed), then time one whole plan. Runs in the current process."""
    t0 = time.perf_counter()
    state = synthetic_state(followers, seed)
    build = time.perf_counter() - t0
    camps = campaigns(n_campaigns)
    t1 = time.perf_counter()
    result = plan(state, camps, NOW, account_type=account_type, seed=seed)
    seconds = time.perf_counter() - t1
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {
        "bench": "planner",
        "followers": followers,
        "campaigns": n_campaigns,
        "account_type": account_type,
        "seconds": round(seconds, 3),
        "peak_rss_mb": round(peak_kb / 1024, 1),
        "state_build_seconds": round(build, 2),
        "sent": sum(s.sent for s in result.summaries),
        "held_back": sum(sum(s.held_back.values()) for s in result.summaries),
        "python": platform.python_version(),
        "numpy": np.__version__,
    }


def run_isolated(
    followers: int, n_campaigns: int, account_type: str = "service", seed: int = 0
) -> dict[str, Any]:
    """Run :func:`measure` in a fresh interpreter and return its figures."""
    proc = subprocess.run(  # noqa: S603 - our own interpreter and module, fixed arguments
        [
            sys.executable,
            "-m",
            "fencun.bench.planner",
            str(followers),
            str(n_campaigns),
            account_type,
            str(seed),
        ],
        check=True,
        capture_output=True,
        text=True,
    )
    figures: dict[str, Any] = json.loads(proc.stdout)
    return figures


def command(
    followers: int = typer.Option(1_000_000, help=gettext("Synthetic followers.")),
    campaigns_: int = typer.Option(3, "--campaigns", help=gettext("Competing campaigns.")),
    account_type: str = typer.Option(
        "service", help=gettext("The account type: subscription or service.")
    ),
    seed: int = typer.Option(0),
    json_: bool = typer.Option(False, "--json", help=gettext("Print one JSON object.")),
) -> None:
    """Time one whole plan for N followers x K campaigns; report seconds and peak RSS."""
    figures = run_isolated(followers, campaigns_, account_type, seed)
    if json_:
        typer.echo(json.dumps(figures))
    else:
        for key, value in figures.items():
            typer.echo(f"{key:>20}: {value}")


if __name__ == "__main__":
    print(json.dumps(measure(int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], int(sys.argv[4]))))
