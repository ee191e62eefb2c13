"""The decisions benchmark runs every world x scenario x policy x seed and judges fencun
against DESIGN.md's targets: the oracle, the none baseline, capped and simple."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from fencun.bench.decisions import judge, summarise, table
from fencun.cli.main import app


def run(policy: str, seed: int, revenue: float, unfollows: int, broken: int = 0) -> dict:
    return {
        "world": "w",
        "scenario": "s",
        "policy": policy,
        "seed": seed,
        "sent": 1,
        "orders": 1,
        "revenue": revenue,
        "unfollows": unfollows,
        "followers_end": 1,
        "rules_broken": broken,
    }


def test_the_benchmark_prints_one_json_object_with_every_run_and_a_judgement():
    result = CliRunner().invoke(
        app,
        [
            "bench",
            "decisions",
            "--worlds",
            "furniture,brand",
            "--followers",
            "300",
            "--days",
            "10",
            "--seeds",
            "1",
            "--jobs",
            "2",
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert len(out["runs"]) == 2 * 2 * 6  # worlds x scenarios x policies, one seed
    assert {(r["world"], r["policy"]) for r in out["runs"]} >= {
        ("brand", "oracle"),
        ("furniture", "none"),
    }
    assert all(r["followers_start"] == 300 for r in out["runs"])
    assert len(out["results"]) == 4
    for cell in out["results"]:
        assert set(cell["means"]) == {"fencun", "blast", "capped", "simple", "oracle", "none"}
        f = cell["fencun"]
        assert f["rules_broken"] == 0
        assert set(f["targets"]) >= {
            "revenue_90pct_of_oracle",
            "push_unfollows_within_125pct_of_oracle",
            "more_revenue_than_capped",
            "more_revenue_than_simple",
        }
        assert isinstance(f["targets_met"], bool)


def test_ratios_are_counted_above_none_on_the_same_seed():
    runs = [
        run("none", 1, 100.0, 10),
        run("none", 2, 120.0, 12),
        run("oracle", 1, 200.0, 14),
        run("oracle", 2, 220.0, 16),
        run("fencun", 1, 190.0, 15),
        run("fencun", 2, 212.0, 17),
        run("capped", 1, 150.0, 30),
        run("capped", 2, 150.0, 30),
        run("simple", 1, 195.0, 12),
        run("simple", 2, 215.0, 12),
    ]
    (cell,) = summarise(runs)
    f = cell["fencun"]
    assert f["revenue_ratio"] == round(201 / 210, 4)
    assert f["push_revenue_ratio"] == round(91 / 100, 4)
    assert f["push_unfollows"] == 5 and f["oracle_push_unfollows"] == 4
    assert f["push_unfollows_ratio"] == 1.25
    assert f["targets"]["more_revenue_than_capped"] and not f["targets"]["more_revenue_than_simple"]
    assert not f["targets_met"]
    assert "more_revenue_than_simple" in table({"results": [cell]})


def test_a_broken_rule_fails_the_targets():
    by_policy = {
        "fencun": {1: run("fencun", 1, 300.0, 10, broken=1)},
        "oracle": {1: run("oracle", 1, 300.0, 10)},
        "none": {1: run("none", 1, 100.0, 10)},
        "capped": {1: run("capped", 1, 200.0, 10)},
        "simple": {1: run("simple", 1, 200.0, 10)},
    }
    f = judge(by_policy, rules_broken=1)
    # The oracle's pushes cost no follower, nor did fencun's: that target holds.
    assert f["targets"]["push_unfollows_within_125pct_of_oracle"] is True
    assert f["targets"]["no_rule_broken"] is False and not f["targets_met"]
