"""``fencun lint FILE``: findings printed (or JSON), exit 1 on errors, quiet jieba."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from typer.testing import CliRunner

from fencun.cli.main import app

runner = CliRunner()


def test_markdown_with_an_absolute_term_exits_1_and_shows_the_span(tmp_path: Path):
    file = tmp_path / "push.md"
    file.write_text("# 全网最好的沙发\n\n周末到店 1999 元 [[S1]]\n", encoding="utf-8")
    result = runner.invoke(app, ["lint", str(file)])
    assert result.exit_code == 1, result.output
    assert "ad-law-absolute" in result.output
    assert "title[0:2]" in result.output and "title[2:4]" in result.output
    assert "《广告法》第九条第三项" in result.output


def test_json_output_and_a_clean_message_exits_0(tmp_path: Path):
    file = tmp_path / "push.json"
    file.write_text(
        json.dumps(
            {
                "kind": "news",
                "title": "【广告】真皮沙发周末到店价 1999 元，送货上门",
                "digest": "本周六日到店，三人位沙发 1999 元。",
                "body": "[[S1 ¥1999]] https://shop.example.com/s1",
            },
            ensure_ascii=False,
        ),
        encoding="utf-8",
    )
    result = runner.invoke(app, ["lint", "--json", str(file)])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output) == []


def test_warnings_alone_do_not_fail_and_json_lists_them(tmp_path: Path):
    file = tmp_path / "push.json"
    file.write_text(json.dumps({"kind": "text", "body": "到店有礼!!! 1999 元"}), encoding="utf-8")
    result = runner.invoke(app, ["lint", "--json", str(file)])
    assert result.exit_code == 0, result.output
    [finding] = json.loads(result.output)
    assert finding["code"] == "spam-exclamations"
    assert finding["severity"] == "warning"
    assert finding["span"] == [4, 7]
    assert finding["message"]["en"] and finding["message"]["zh-Hans"]


def test_english_output(tmp_path: Path):
    file = tmp_path / "push.txt"
    file.write_text("最好的床\n转发朋友圈", encoding="utf-8")
    result = runner.invoke(app, ["lint", "--en", str(file)])
    assert result.exit_code == 1
    assert "Advertising Law art. 9(3)" in result.output
    assert "induces sharing" in result.output


def test_unreadable_files_are_refused_with_exit_2(tmp_path: Path):
    assert runner.invoke(app, ["lint", str(tmp_path / "missing.md")]).exit_code == 2
    bad = tmp_path / "bad.json"
    bad.write_text("[1, 2]", encoding="utf-8")
    result = runner.invoke(app, ["--lang", "en", "lint", str(bad)])
    assert result.exit_code == 2 and "JSON must be an object" in result.output
    binary = tmp_path / "bin.md"
    binary.write_bytes(b"\xff\xfe\x00bad")
    assert runner.invoke(app, ["lint", str(binary)]).exit_code == 2


def test_jieba_says_nothing_on_stderr(tmp_path: Path):
    file = tmp_path / "push.txt"
    file.write_text("最舒服的沙发", encoding="utf-8")
    done = subprocess.run(
        [sys.executable, "-m", "fencun.cli.main", "lint", str(file)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 1
    assert "最舒服" in done.stdout
    assert done.stderr == ""
