"""The catalog imports speak the merchant's language: 简体中文 by default, English with
``--lang en``, with no Chinese left in the English (and the file's own values aside)."""

from __future__ import annotations

import re

import pytest
from typer.testing import CliRunner

CJK = re.compile(r"[\u3000-\u303f\u4e00-\u9fff\uff00-\uffef]")

BAD_PRODUCTS = "sku,name,price,active,link_url\nA,sofa,1,maybe,ftp://x\nA,,-1,,\nB b,bed,1.999,,\n"
BAD_STORES = "name,lat,lng,datum\nshop,91,114,gcj02\nshop,23.1,x,bd09\n,23,114,\n"


@pytest.fixture
def run(make_account, tmp_path, monkeypatch):
    from fencun.cli.main import app

    make_account()
    monkeypatch.setattr("fencun.cli.import_cmd.setup_django", lambda: None)

    def invoke(*args: str):
        return CliRunner().invoke(app, list(args))

    return invoke


@pytest.mark.django_db
@pytest.mark.parametrize(("command", "text"), [("import-products", BAD_PRODUCTS), ("import-stores", BAD_STORES)])
def test_refusals_are_english_with_lang_en_and_chinese_by_default(run, tmp_path, command, text):
    path = tmp_path / "bad.csv"
    path.write_text(text, encoding="utf-8")
    english = run(command, str(path), "--lang", "en")
    assert english.exit_code == 1
    assert "row 2" in english.output and "nothing imported" in english.output
    assert not CJK.search(english.output), english.output
    chinese = run(command, str(path))
    assert chinese.exit_code == 1 and "第 2 行" in chinese.output


@pytest.mark.django_db
@pytest.mark.parametrize("command", ["import-products", "import-stores"])
def test_a_missing_file_and_an_unknown_account_are_said_in_one_language(run, tmp_path, command):
    missing = run(command, str(tmp_path / "none.csv"), "--lang", "en")
    assert missing.exit_code == 2 and "cannot read" in missing.output
    assert not CJK.search(missing.output), missing.output
    assert "无法读取" in run(command, str(tmp_path / "none.csv")).output
    path = tmp_path / "ok.csv"
    path.write_text("name\nx\n", encoding="utf-8")
    unknown = run(command, str(path), "--account", "wx_nobody", "--lang", "en")
    assert unknown.exit_code == 2 and "no such account" in unknown.output
    assert not CJK.search(unknown.output), unknown.output
    assert "/" not in run(command, str(path), "--account", "wx_nobody").output  # not both at once
