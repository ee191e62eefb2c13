"""The shards benchmark plans an account shard by shard, one process each, and its check
finds the sharded plan equal to the plan of the same followers in one piece."""

from __future__ import annotations

import json
import subprocess
import sys


def test_the_shards_benchmark_matches_one_plan_and_reports_its_figures():
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "fencun.cli.main",
            "bench",
            "shards",
            "--followers",
            "20000",
            "--shards",
            "4",
            "--jobs",
            "2",
            "--check-followers",
            "20000",
            "--json",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    result = json.loads(out.stdout)
    assert (result["bench"], result["followers"], result["shards"], result["jobs"]) == (
        "shards",
        20000,
        4,
        2,
    )
    for key in ("seconds", "merge_seconds", "peak_rss_mb", "build_seconds"):
        assert result[key] > 0, key
    assert set(result["step_seconds"]) == {"stats", "sums", "draft", "assign", "finish"}
    # Every follower went to the shard of their openid's hash, and every shard planned.
    assert result["routed"] is True
    shards = result["per_shard"]
    assert [s["shard"] for s in shards] == [0, 1, 2, 3]
    assert sum(s["followers"] for s in shards) == 20000
    for s in shards:
        assert s["plan_seconds"] > 0 and s["peak_rss_mb"] > 0
    # A subscription account's one mass send: a single campaign reaches anyone.
    sent = result["sent_by_campaign"]
    assert sent[result["mass_campaign"]] == result["sent"] > 0
    assert sum(sent.values()) == result["sent"]

    # On posterior means, the sharded plan is the unsharded plan: same campaign, same
    # recipients, the same reason for every follower, the same summaries.
    same = result["check"]["posterior_means"]
    assert same["same_campaign"] is True
    assert same["mass_campaign_sharded"] == same["mass_campaign_whole"] is not None
    assert same["same_recipients"] is True
    assert same["same_reasons"] is True
    assert same["followers_with_other_reasons"] == 0
    assert same["summaries_equal"] is True
    assert same["sent_sharded"] == same["sent_whole"] > 0
    # With draws each shard draws its own: the same campaign, most followers alike.
    drawn = result["check"]["explore"]
    assert drawn["same_campaign"] is True
    assert 0.5 < drawn["agreement"] <= 1.0
