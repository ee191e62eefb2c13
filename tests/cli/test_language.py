"""The command line speaks one language per run: ``fencun --lang``, else FENCUN_LANG, else
the locale (LC_ALL, LC_MESSAGES, LANG), else 简体中文. Its help, messages and errors are all
in that language; a language it does not speak is refused before anything runs."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from fencun import language

# Chinese characters, and the full-width punctuation that comes with them.
CJK = re.compile(r"[\u3000-\u303f\u4e00-\u9fff\uff00-\uffef]")
LOCALE_VARIABLES = ("LANG", "LANGUAGE", "LC_ALL", "LC_MESSAGES", "FENCUN_LANG")
# Wide, plain output: a text wrapped or coloured would not be found whole.
PLAIN = {
    "COLUMNS": "200",
    "TERMINAL_WIDTH": "200",
    "_TYPER_FORCE_DISABLE_TERMINAL": "1",
    "NO_COLOR": "1",
}

# Every command's --help, rendered in one fresh process (its help texts are read when the
# app is built, in the language the environment chooses).
EVERY_HELP = """
import json
from typer.main import get_command
from typer.testing import CliRunner
from fencun.cli.main import app

def paths(command, path=()):
    yield path
    for name, sub in (getattr(command, "commands", None) or {}).items():
        yield from paths(sub, (*path, name))

runner = CliRunner()
print(json.dumps({" ".join(p): runner.invoke(app, [*p, "--help"]).output for p in paths(get_command(app))}))
"""


def fencun(
    *args: str, data_dir: Path | None = None, **environ: str
) -> subprocess.CompletedProcess[str]:
    """The console script in a fresh process on its own data dir (never the suite's
    database), with no language set but ``environ``'s."""
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in LOCALE_VARIABLES and not k.startswith(("DATABASE_URL", "FENCUN_", "WECHAT_"))
    }
    env |= {**PLAIN, **environ}
    if data_dir is not None:
        env["FENCUN_DATA_DIR"] = str(data_dir)
    return subprocess.run(  # noqa: S603 - our own interpreter and module
        [sys.executable, "-m", "fencun.cli.main", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An empty data dir shared by the module: the first command creates and migrates it."""
    return tmp_path_factory.mktemp("data")


# --- choosing the language ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("option", "environ", "expected"),
    [
        (None, {}, "zh-hans"),
        (None, {"LANG": "C.UTF-8"}, "zh-hans"),
        (None, {"LANG": "en_US.UTF-8"}, "en"),
        (None, {"LANG": "zh_CN.UTF-8"}, "zh-hans"),
        (None, {"LANG": "zh_CN.UTF-8", "LC_ALL": "en_GB.UTF-8"}, "en"),
        (None, {"LANG": "en_US.UTF-8", "LC_ALL": "C"}, "zh-hans"),
        (None, {"LANG": "en_US.UTF-8", "FENCUN_LANG": "zh-hans"}, "zh-hans"),
        (None, {"LANG": "zh_CN.UTF-8", "FENCUN_LANG": "EN"}, "en"),
        (None, {"LANG": "en_US.UTF-8", "FENCUN_LANG": " "}, "en"),
        ("en", {"LANG": "zh_CN.UTF-8", "FENCUN_LANG": "zh-hans"}, "en"),
        ("zh_Hans", {"LANG": "en_US.UTF-8", "FENCUN_LANG": "en"}, "zh-hans"),
    ],
)
def test_the_option_wins_over_fencun_lang_which_wins_over_the_locale(option, environ, expected):
    assert language.for_run(option, environ) == expected


@pytest.mark.parametrize(
    ("option", "environ", "source"),
    [("fr", {}, "--lang"), ("", {}, "--lang"), (None, {"FENCUN_LANG": "english"}, "FENCUN_LANG")],
)
def test_a_language_fencun_does_not_speak_is_refused_naming_where_it_came_from(
    option, environ, source
):
    with pytest.raises(language.UnknownLanguage) as refused:
        language.for_run(option, environ)
    assert source in str(refused.value)
    assert "不支持的语言" in str(refused.value) and "unknown language" in str(refused.value)


@pytest.mark.parametrize(
    ("words", "expected"),
    [
        (["--lang", "en", "campaign", "list"], "en"),
        (["--lang=en", "--help"], "en"),
        (["--lang"], ""),
        (["campaign", "work", "--lang", "en"], None),  # that command's own option
        (["--help"], None),
        ([], None),
    ],
)
def test_only_the_words_before_the_command_are_the_runs_option(words, expected):
    assert language.option_in(words) == expected


# --- help texts -----------------------------------------------------------------------------


def every_help(**environ: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in LOCALE_VARIABLES} | PLAIN | environ
    done = subprocess.run(  # noqa: S603 - our own interpreter
        [sys.executable, "-c", EVERY_HELP],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return json.loads(done.stdout)


def test_every_help_text_in_english_has_no_chinese():
    helps = every_help(FENCUN_LANG="en")
    assert len(helps) > 30 and all("Usage" in text for text in helps.values())
    chinese = {command: CJK.findall(text) for command, text in helps.items() if CJK.search(text)}
    assert chinese == {}
    assert "WeChat marketing with a sense of measure" in helps[""]
    assert "Campaigns: list, dry run, approve, resume, send." in helps["campaign"]
    assert "Who approves." in helps["campaign approve"]


def test_every_help_text_in_chinese_is_chinese():
    helps = every_help(FENCUN_LANG="zh-hans")
    assert len(helps) > 30
    assert [command for command, text in helps.items() if not CJK.search(text)] == []
    assert "有分寸的微信营销" in helps[""]
    assert "营销活动：列表、预演、批准、恢复、发送。" in helps["campaign"]
    assert "批准人。" in helps["campaign approve"]
    assert "演示数据目录（每次运行前清空）。" in helps["demo"]
    assert "输出一个 JSON 对象。" in helps["bench planner"]
    # Typer's own words too: the usage line, the panels, the help option.
    for text in helps.values():
        assert "用法：" in text and "显示本帮助并退出。" in text and "选项" in text
        assert not {"Usage:", "Options", "Commands", "Show this message"} & set(re.findall(
            r"Usage:|Options|Commands|Show this message", text))


@pytest.mark.parametrize(
    ("args", "environ", "expected", "not_expected"),
    [
        (["--help"], {}, "有分寸的微信营销", "sense of measure"),
        (["--help"], {"LANG": "C.UTF-8"}, "有分寸的微信营销", "sense of measure"),
        (["--help"], {"LANG": "en_US.UTF-8"}, "sense of measure", "有分寸"),
        (
            ["--help"],
            {"LANG": "en_US.UTF-8", "FENCUN_LANG": "zh-hans"},
            "有分寸的微信营销",
            "sense of measure",
        ),
        (
            ["--lang", "en", "--help"],
            {"LANG": "zh_CN.UTF-8", "FENCUN_LANG": "zh-hans"},
            "sense of measure",
            "有分寸",
        ),
        (
            ["--lang", "zh-hans", "campaign", "--help"],
            {"LANG": "en_US.UTF-8"},
            "营销活动",
            "Campaigns:",
        ),
        (["--lang=en", "campaign", "approve", "--help"], {}, "Who approves.", "批准人"),
    ],
)
def test_the_help_speaks_the_runs_language(args, environ, expected, not_expected):
    result = fencun(*args, **environ)
    assert result.returncode == 0, result.stderr
    assert expected in result.stdout and not_expected not in result.stdout


def test_the_language_option_alone_shows_the_help_as_no_words_do():
    bare, english = fencun(), fencun("--lang", "en")
    assert english.returncode == bare.returncode and "Traceback" not in english.stderr
    assert "有分寸的微信营销" in bare.stdout
    assert "sense of measure" in english.stdout and not CJK.search(english.stdout)


@pytest.mark.parametrize(
    ("args", "environ", "value"),
    [
        (["--lang", "fr", "campaign", "list"], {}, "'fr'"),
        (["--lang", "xx", "--help"], {}, "'xx'"),
        (["--help"], {"FENCUN_LANG": "klingon"}, "'klingon'"),
        ([], {"FENCUN_LANG": "klingon"}, "'klingon'"),
        (["campaign", "work", "--lang", "de"], {}, "'de'"),
    ],
)
def test_an_unknown_language_is_refused_cleanly_in_both_languages(args, environ, value):
    result = fencun(*args, **environ)
    assert result.returncode == 2, result.stdout + result.stderr
    assert "Traceback" not in result.stderr and "Usage" not in result.stdout
    assert value in result.stderr
    assert "不支持的语言" in result.stderr and "unknown language" in result.stderr


# --- what the commands print ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "environ", "expected"),
    [
        (["campaign", "list"], {"LANG": "en_US.UTF-8"}, "No campaign yet."),
        (["campaign", "list"], {"LANG": "C.UTF-8"}, "还没有活动。"),
        (["--lang", "en", "campaign", "list"], {"FENCUN_LANG": "zh-hans"}, "No campaign yet."),
        (["campaign", "list"], {"LANG": "en_US.UTF-8", "FENCUN_LANG": "zh-hans"}, "还没有活动。"),
        (["--lang", "en", "campaign", "resume", "404"], {}, "no campaign 404"),
        (["campaign", "resume", "404"], {}, "找不到活动 404"),
    ],
)
def test_messages_and_errors_speak_the_runs_language(data_dir, args, environ, expected):
    result = fencun(*args, data_dir=data_dir, **environ)
    assert "Traceback" not in result.stderr, result.stderr
    assert expected in result.stderr
    if expected.isascii():
        assert not CJK.search(result.stdout + result.stderr), result.stdout + result.stderr


def test_a_commands_own_lang_follows_the_run_and_still_overrides_it(data_dir):
    run_english = fencun("--lang", "en", "import-orders", "--webhook", data_dir=data_dir)
    assert run_english.returncode == 0, run_english.stderr
    assert run_english.stdout.startswith("Orders webhook:") and not CJK.search(run_english.stdout)
    overridden = fencun(
        "import-orders", "--webhook", "--lang", "zh-hans", data_dir=data_dir, FENCUN_LANG="en"
    )
    assert overridden.returncode == 0, overridden.stderr
    assert overridden.stdout.startswith("订单 Webhook")


def test_a_rich_table_has_its_headers_in_the_runs_language(data_dir):
    english = fencun("--lang", "en", "member", "list", data_dir=data_dir)
    assert english.returncode == 0, english.stderr
    assert "username" in english.stdout and not CJK.search(english.stdout)
    chinese = fencun("member", "list", data_dir=data_dir)
    assert "用户名" in chinese.stdout and "username" not in chinese.stdout


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX modes")
def test_what_django_says_speaks_the_runs_language_too(tmp_path):
    data = tmp_path / "loose"
    assert fencun("campaign", "list", data_dir=data).returncode == 0
    data.chmod(0o755)  # told on the next start, by Django's gettext
    english = fencun("--lang", "en", "campaign", "list", data_dir=data)
    assert "was readable by others" in english.stderr and not CJK.search(english.stderr), (
        english.stderr
    )
    data.chmod(0o755)
    chinese = fencun("campaign", "list", data_dir=data, LANG="en_US.UTF-8", FENCUN_LANG="zh-hans")
    assert "0700" in chinese.stderr and "readable" not in chinese.stderr, chinese.stderr
