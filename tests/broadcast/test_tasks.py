"""The periodic task that posts due broadcast posts, against the Weibo sandbox."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.utils.module_loading import autodiscover_modules

from fencun import clock
from fencun.channels.broadcast.services import create_post
from fencun.channels.models import BroadcastPost
from fencun.channels.tasks import post_due_broadcasts

TARGET = "https://shop.example.com/p/sofa-42"


@pytest.fixture
def configured(settings, weibo_sandbox, make_account):
    settings.WEIBO = {
        "ACCESS_TOKEN": weibo_sandbox.config.access_token,
        "API_BASE": weibo_sandbox.api_base,
        "SAFE_DOMAIN": weibo_sandbox.config.safe_domain,
        "PUBLIC_URL": "https://shop.example.com",
    }
    return make_account()


def test_the_worker_finds_the_task_every_minute():
    from huey.contrib.djhuey import HUEY

    autodiscover_modules("tasks")  # what run_huey does at start: each app's ``tasks``
    [task] = [t for t in HUEY._registry.periodic_tasks if t.name == "post_due_broadcasts_tick"]
    assert type(task).__module__ == "fencun.channels.tasks"
    minute = datetime(2026, 11, 23, 2, 17, tzinfo=UTC)
    assert all(task.validate_datetime(minute + timedelta(minutes=n)) for n in range(60))


@pytest.mark.django_db
def test_a_due_post_goes_out_once(configured, weibo_sandbox):
    post = create_post(
        configured,
        "周末到店有礼",
        link_target=TARGET,
        scheduled_for=clock.now() - timedelta(minutes=1),
    )
    later = create_post(
        configured, "下周新品预告", link_target=TARGET, scheduled_for=clock.now() + timedelta(hours=2)
    )
    assert post_due_broadcasts() == 1
    assert post_due_broadcasts() == 0
    post.refresh_from_db()
    later.refresh_from_db()
    assert post.status == BroadcastPost.Status.POSTED
    assert later.status == BroadcastPost.Status.SCHEDULED
    [sent] = weibo_sandbox.posts
    assert sent["idstr"] == post.remote_id


@pytest.mark.django_db
@pytest.mark.parametrize("unset", ["ACCESS_TOKEN", "PUBLIC_URL"])
def test_without_a_token_or_public_url_nothing_is_posted(configured, weibo_sandbox, settings, unset):
    settings.WEIBO = {**settings.WEIBO, unset: ""}
    post = create_post(
        configured, "周末到店有礼", link_target=TARGET, scheduled_for=clock.now() - timedelta(minutes=1)
    )
    assert post_due_broadcasts() == 0
    post.refresh_from_db()
    assert post.status == BroadcastPost.Status.SCHEDULED
    assert weibo_sandbox.posts == []
