"""``fencun demo --no-serve``: the README's first command, run headless as a user would."""

from __future__ import annotations

import json
import os
import shlex
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from tests.conftest import sized

#: The README's command as it is (25,000 followers) locally; a smaller town's month on CI.
FOLLOWERS = sized(25_000, 2_000)

pytestmark = [
    pytest.mark.skipif(
        bool(os.environ.get("DATABASE_URL")),
        reason="the demo always runs on its own SQLite data dir; it runs in the SQLite pass",
    ),
]


def demo(*args: str, data_dir: Path, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "FENCUN_QUEUE_URL")}
    env["COLUMNS"] = "200"
    return subprocess.run(  # noqa: S603 - our own CLI
        [sys.executable, "-m", "fencun.cli.main", "demo", "--no-serve", "--data-dir", str(data_dir), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


@pytest.mark.slow(seconds=sized(200, 60))
def test_headless_demo_runs_a_month_and_prints_the_comparison(tmp_path):
    data = tmp_path / "demo"
    run = demo(*([] if FOLLOWERS == 25_000 else ["--followers", str(FOLLOWERS)]), data_dir=data)
    assert run.returncode == 0, run.stderr[-3000:] + run.stdout[-3000:]
    out = run.stdout
    for label in ("本次运行（产品）", "回测：分寸引擎", "回测：全部群发", "推送人次", "营收", "取关"):
        assert label in out
    assert f"{FOLLOWERS:,} 位粉丝起步" in out
    # The demo says how to read its data from the command line, and that command does.
    line = next(line for line in out.splitlines() if "用命令行查看演示的数据" in line)
    command = shlex.split(line.split("：", 1)[1])
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "FENCUN_QUEUE_URL", "FENCUN_DATA_DIR")}
    listed = subprocess.run(  # noqa: S603 - the command the demo printed: env, then our own CLI
        [command[0], command[1], sys.executable, "-m", "fencun.cli.main", *command[3:]],
        env={**env, "COLUMNS": "200"}, capture_output=True, text=True, timeout=120,
    )
    assert command[1] == f"FENCUN_DATA_DIR={data}" and command[2:] == ["fencun", "campaign", "list"]
    assert listed.returncode == 0 and listed.stdout.count("\n") >= 10, listed.stdout + listed.stderr

    db = sqlite3.connect(data / "fencun.sqlite3")
    statuses = dict(db.execute("select status, count(*) from campaigns_campaign group by status").fetchall())
    assert statuses.get("done", 0) >= 10, statuses
    assert set(statuses) <= {"done", "planned"}, statuses
    # Every follower of every plan is either sent or held back with a stated reason.
    for reach, audience, held in db.execute("select reach, audience, held_back from campaigns_plansnapshot"):
        assert reach + sum(json.loads(held).values()) == audience
    # What the outbox sent is what the event log recorded as delivered, once each.
    sent = sum(
        len(json.loads(o))
        for (o,) in db.execute("select openids from campaigns_outboxitem where status = 'sent'")
    )
    deliveries = db.execute("select count(*) from audience_event where kind = 'delivery'").fetchone()[0]
    assert sent == deliveries > 0
    # The shop's products have the names a Chinese shop gives them.
    names = [name for (name,) in db.execute("select name from catalog_product")]
    assert names and not [n for n in names if any("a" <= ch.lower() <= "z" for ch in n)], names
    # The summary is the console's overview of the same days: its pushes are every delivery.
    row = next(line for line in out.splitlines() if "推送人次" in line)
    assert int(row.split("推送人次", 1)[1].split()[1].replace(",", "")) == deliveries, row
    # The world answered through the product's real inputs: callbacks, links, orders.
    kinds = dict(db.execute("select kind, count(*) from audience_event group by kind").fetchall())
    for kind in ("subscribe", "unsubscribe", "location", "text", "click", "read", "link_click", "order"):
        assert kinds.get(kind, 0) > 0, kind
    attributed = db.execute(
        "select count(*) from audience_event where kind = 'order' and json_extract(payload, '$.campaign') is not null"
    ).fetchone()[0]
    assert attributed > 0
    # The console's figures are there: every delivery and every holdout member rolled up,
    # and each campaign's holdout measured against its recipients.
    members = dict(db.execute(
        "select arm = 'holdout', count(*) from insights_campaignmember group by arm = 'holdout'"
    ).fetchall())
    holdout_events = db.execute("select count(*) from audience_event where kind = 'holdout'").fetchone()[0]
    assert members == {0: deliveries, 1: holdout_events} and holdout_events > 0
    # The whole month lies in the past, on the simulated calendar, ending about now.
    first, last = db.execute(
        "select min(sent_at), max(sent_at) from campaigns_outboxitem where status = 'sent'"
    ).fetchone()
    assert first < last
    db.close()


def test_demo_refuses_a_data_dir_it_did_not_make(tmp_path):
    data = tmp_path / "mine"
    data.mkdir()
    (data / "fencun.sqlite3").write_bytes(b"precious")
    run = demo(data_dir=data, timeout=60)
    assert run.returncode != 0
    assert "不是演示目录" in run.stderr + run.stdout
    assert (data / "fencun.sqlite3").read_bytes() == b"precious"
