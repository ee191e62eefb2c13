"""``fencun broadcast post|run`` against the Weibo sandbox."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from fencun.channels.models import BroadcastPost
from fencun.cli.main import app

TARGET = "https://shop.example.com/p/sofa-42"


@pytest.fixture
def configured(settings, weibo_sandbox, make_account):
    make_account()
    settings.WEIBO = {
        "ACCESS_TOKEN": weibo_sandbox.config.access_token,
        "API_BASE": weibo_sandbox.api_base,
        "SAFE_DOMAIN": weibo_sandbox.config.safe_domain,
        "PUBLIC_URL": "https://shop.example.com",
    }
    return weibo_sandbox


@pytest.mark.django_db
def test_post_now_goes_out_with_a_tracked_link(configured):
    result = CliRunner().invoke(app, ["broadcast", "post", "新款沙发到店", "--link", TARGET])
    assert result.exit_code == 0, result.output
    assert "已发布" in result.output
    [sent] = configured.posts
    assert sent["text"].startswith("新款沙发到店 https://shop.example.com/r/")
    assert configured.config.access_token not in result.output


@pytest.mark.django_db
def test_scheduled_post_goes_out_on_run(configured):
    runner = CliRunner()
    result = runner.invoke(
        app, ["broadcast", "post", "周末到店有礼", "--link", TARGET, "--at", "2020-01-01 10:00"]
    )
    assert result.exit_code == 0, result.output
    assert "已排期" in result.output and configured.posts == []
    result = runner.invoke(app, ["broadcast", "run"])
    assert result.exit_code == 0, result.output
    assert len(configured.posts) == 1
    assert runner.invoke(app, ["broadcast", "run"]).output.strip() == "没有到时的发布。"


@pytest.mark.django_db
def test_lint_errors_and_unacknowledged_warnings_are_refused(configured):
    runner = CliRunner()
    result = runner.invoke(app, ["broadcast", "post", "全网最低价沙发", "--link", TARGET])
    assert result.exit_code == 1 and "内容检查未通过" in result.output
    result = runner.invoke(app, ["broadcast", "post", "点击领取!!!! 限时抢购", "--link", TARGET])
    assert result.exit_code == 1 and "--ack" in result.output
    assert not BroadcastPost.objects.exists() and configured.posts == []


@pytest.mark.django_db
def test_without_a_token_the_command_says_what_to_set(configured, settings):
    settings.WEIBO = {**settings.WEIBO, "ACCESS_TOKEN": ""}
    result = CliRunner().invoke(app, ["broadcast", "run"])
    assert result.exit_code == 2 and "WEIBO_ACCESS_TOKEN" in result.output
