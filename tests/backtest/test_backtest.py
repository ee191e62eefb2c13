"""The ``fencun backtest`` contract: scenario, MODULE:FACTORY worlds, policies, the JSON."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from tests.backtest import plugin_world
from tests.backtest.scenarios import shipped, small
from typer.testing import CliRunner

from fencun.backtest import BacktestError, parse_scenario, run_backtest
from fencun.cli.main import app

ROOT = Path(__file__).resolve().parents[2]
PLUG = "tests.backtest.plugin_world:world"
KNOWING = "tests.backtest.plugin_world:knowing"


def write(tmp_path: Path, scenario: dict) -> str:
    path = tmp_path / "scenario.json"
    path.write_text(json.dumps(scenario, ensure_ascii=False), encoding="utf-8")
    return str(path)


def invoke(*args: str):
    return CliRunner().invoke(app, ["backtest", *args])


def test_shipped_scenarios_are_valid_for_both_account_types():
    sub = parse_scenario(shipped("subscription-90d.json"))
    svc = parse_scenario(shipped("service-90d.json"))
    assert (sub.account_type, svc.account_type) == ("subscription", "service")
    for sc in (sub, svc):
        assert max(c.day for c in sc.campaigns) < 90
        assert any(c.campaign.urgent for c in sc.campaigns)
        assert any(c.campaign.segment for c in sc.campaigns)


def test_cli_runs_a_plug_in_world_and_prints_one_json_object(tmp_path):
    scenario = small(followers=60)
    result = invoke(
        "--scenario",
        write(tmp_path, scenario),
        "--world",
        PLUG,
        "--policy",
        "blast",
        "--days",
        "14",
        "--seed",
        "1",
        "--json",
    )
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    for key in (
        "sent",
        "orders",
        "revenue",
        "unfollows",
        "followers_end",
        "campaigns",
        "violations",
    ):
        assert key in out
    assert out["sent"] > 0 and out["unfollows"] > 0
    assert out["followers_start"] == 60 and out["followers_end"] == 60 - out["unfollows"]


def test_the_world_gets_delivery_dicts_sent_at_the_send_moment_in_shanghai_time():
    worlds = []

    def factory(scenario):
        worlds.append(plugin_world.world(scenario))
        return worlds[-1]

    out = run_backtest(small(followers=60), factory, "blast", days=10, seed=2)
    w = worlds[0]
    assert out["sent"] == len(w.delivered)
    assert out["orders"] == len(w.orders)
    assert out["revenue"] == pytest.approx(sum(o["amount"] for o in w.orders))
    assert out["unfollows"] == len(w.gone)
    dv = w.delivered[0]
    assert set(dv) >= {"openid", "campaign", "at", "title", "category", "products"}
    assert dv["at"].endswith("T10:00:00+08:00")
    assert all(set(p) == {"id", "price"} for p in dv["products"])


def test_policies_differ_as_the_contract_says():
    scenario = small("service-90d.json", followers=60)
    out = {
        policy: run_backtest(scenario, KNOWING, policy, days=14, references=False)
        for policy in ("none", "blast", "capped", "simple", "fencun", "oracle")
    }
    assert out["none"]["sent"] == 0 and out["none"]["unfollows"] == 0
    assert out["blast"]["sent"] > out["fencun"]["sent"] > 0
    assert out["fencun"]["unfollows"] < out["blast"]["unfollows"]
    # simple: only followers with evidence of interest (or a tenth of those with none).
    assert 0 < out["simple"]["sent"] < out["capped"]["sent"]
    # The oracle knows a second push within a week loses the follower: it never sends one,
    # and it sells more than any policy that has to learn.
    assert out["oracle"]["sent"] > 0 and out["oracle"]["unfollows"] == 0
    assert all(out["oracle"]["revenue"] >= r["revenue"] for r in out.values())


def test_the_oracle_refuses_a_world_without_expected(tmp_path):
    with pytest.raises(BacktestError, match="no expected"):
        run_backtest(small(followers=20), PLUG, "oracle", days=2)
    result = invoke(
        "--scenario",
        write(tmp_path, small(followers=20)),
        "--world",
        PLUG,
        "--policy",
        "oracle",
        "--days",
        "2",
        "--json",
    )
    assert result.exit_code == 2 and "expected()" in result.stderr


def test_a_world_with_expected_adds_the_oracle_and_none_on_the_same_seed(tmp_path):
    scenario = small("service-90d.json", followers=60)
    out = run_backtest(scenario, KNOWING, "fencun", days=14, seed=3)
    oracle = run_backtest(scenario, KNOWING, "oracle", days=14, seed=3)
    none = run_backtest(scenario, KNOWING, "none", days=14, seed=3)
    assert "references" not in oracle and "references" not in none
    assert set(out["references"]) == {"oracle", "none"}
    for ref, run in (("oracle", oracle), ("none", none)):
        assert out["references"][ref] == {
            key: run[key]
            for key in (
                "sent",
                "orders",
                "revenue",
                "campaign_revenue",
                "unfollows",
                "followers_end",
            )
        }
    assert out["vs_oracle"]["revenue_ratio"] == pytest.approx(
        out["revenue"] / oracle["revenue"], abs=1e-4
    )
    # The oracle lost no follower to its pushes: the unfollow ratio has no denominator.
    assert out["vs_oracle"]["push_unfollows_ratio"] is None
    assert "references" not in run_backtest(scenario, PLUG, "fencun", days=14)
    args = ["--scenario", write(tmp_path, scenario), "--world", KNOWING, "--days", "14"]
    cli = json.loads(invoke(*args, "--json").stdout)
    assert cli["references"]["oracle"]["revenue"] == oracle["revenue"]
    assert "references" not in json.loads(invoke(*args, "--json", "--no-references").stdout)


def test_push_caused_unfollows_are_counted_above_none():
    from fencun.backtest.runner import vs_oracle

    ratios = vs_oracle(
        {"revenue": 90.0, "unfollows": 15},
        {"revenue": 100.0, "unfollows": 14},
        {"revenue": 40.0, "unfollows": 10},
    )
    assert ratios == {"revenue_ratio": 0.9, "push_unfollows_ratio": 1.25}


@pytest.mark.parametrize("account", ["subscription-90d.json", "service-90d.json"])
@pytest.mark.parametrize("policy", ["fencun", "blast", "capped", "simple", "oracle", "ceiling"])
def test_no_rule_is_broken_in_a_backtest(account, policy):
    out = run_backtest(
        small(account, followers=300, days=14),
        "fencun.worlds.furniture:world",
        policy,
        days=14,
        seed=5,
        references=False,
    )
    assert out["sent"] > 0
    assert out["violations"] == dict.fromkeys(out["violations"], 0)


def test_backtest_is_deterministic_for_a_seed():
    scenario = small(followers=300, days=12)
    a = run_backtest(scenario, "fencun.worlds.brand:world", "fencun", days=12, seed=7)
    b = run_backtest(scenario, "fencun.worlds.brand:world", "fencun", days=12, seed=7)
    c = run_backtest(scenario, "fencun.worlds.brand:world", "fencun", days=12, seed=8)
    for r in (a, b, c):
        for ref in r.get("references", {}).values():
            ref.pop("seconds", None)
    for r in (a, b, c):
        r.pop("seconds")
    assert a == b
    assert a != c


def test_fencun_reports_reasons_and_holdout_lift():
    out = run_backtest(
        small(followers=2000, days=9),
        "fencun.worlds.furniture:world",
        "fencun",
        days=9,
        seed=1,
        references=False,
    )
    assert "holdout" in out["held_back_final"]
    lifts = [c["lift"] for c in out["campaigns"] if c["lift"]]
    assert lifts and all(lift["holdout"] > 0 for lift in lifts)
    for c in out["campaigns"]:
        if c["sent"]:
            assert sum(c["held_back"].values()) > 0


def test_cli_as_installed_runs_the_shipped_world(tmp_path):
    path = write(tmp_path, small(followers=200, days=5))
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "fencun.cli.main",
            "backtest",
            "--scenario",
            path,
            "--world",
            "fencun.worlds.furniture:world",
            "--policy",
            "capped",
            "--days",
            "5",
            "--seed",
            "3",
            "--json",
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert out["policy"] == "capped" and out["days"] == 5 and out["followers_start"] == 200


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--world", "nocolon"], "MODULE:FACTORY"),
        (["--world", "no.such.module:world"], "cannot import"),
        (["--world", "tests.backtest.plugin_world:missing"], "no callable"),
        (["--world", "tests.backtest.plugin_world:broken"], "no day()"),
        (["--policy", "spam"], "policy 'spam'"),
    ],
)
def test_bad_world_or_policy_is_a_clear_error(tmp_path, args, message):
    path = write(tmp_path, small(followers=20))
    result = invoke("--scenario", path, "--world", PLUG, "--days", "2", "--json", *args)
    assert result.exit_code == 2
    assert message in result.stderr
    assert result.stdout == ""


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda s: s["campaigns"][0].update(category="chairs"), "unknown category 'chairs'"),
        (lambda s: s["campaigns"][0].update(segment="tag:vip adn orders>1"), "column 9"),
        (lambda s: s.update(account_type="enterprise"), "account_type"),
        (lambda s: s["campaigns"][0].update(day=-1), "'day'"),
        (lambda s: s["campaigns"].append(dict(s["campaigns"][0])), "duplicate id"),
        (lambda s: s.update(rules={"weekly_cap": -1}), "rules"),
        (lambda s: s.update(categories=[]), "categories"),
    ],
)
def test_bad_scenarios_are_clear_errors(tmp_path, change, message):
    scenario = small(followers=20)
    change(scenario)
    result = invoke(
        "--scenario", write(tmp_path, scenario), "--world", PLUG, "--days", "2", "--json"
    )
    assert result.exit_code == 2, result.output
    assert message in result.stderr
    with pytest.raises(BacktestError):
        parse_scenario(scenario)


def test_missing_or_malformed_scenario_file(tmp_path):
    result = invoke("--scenario", str(tmp_path / "nope.json"), "--json")
    assert result.exit_code == 2 and "不存在" in result.stderr
    bad = tmp_path / "bad.json"
    bad.write_text("{not json", encoding="utf-8")
    result = invoke("--scenario", str(bad), "--json")
    assert result.exit_code == 2 and "bad.json" in result.stderr


def test_an_unknown_shipped_scenario_name_is_refused():
    from fencun.worlds import scenarios

    with pytest.raises(ValueError, match="shipped: subscription-90d, service-90d"):
        scenarios.load("weekly")


def test_a_shipped_world_is_judged_against_its_oracle():
    out = run_backtest(
        small(followers=400, days=10), "fencun.worlds.brand:world", "capped", days=10, seed=2
    )
    assert out["references"]["oracle"]["sent"] > 0
    assert out["references"]["none"]["sent"] == 0
    assert out["vs_oracle"]["revenue_ratio"] > 0
