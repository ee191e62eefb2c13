"""Seed an account, its followers and a ready campaign to match a running sandbox.

Used by the delivery benchmark and the reliability tests; everything goes through the
same models and services as production (create, lint, dry-run, approve).
"""

from __future__ import annotations

from datetime import datetime

from django.utils import timezone

from fencun.accounts.models import Account
from fencun.audience.models import Follower
from fencun.audience.wecom_sync import sync_contacts
from fencun.campaigns.models import Campaign, Rules
from fencun.catalog.models import Category
from fencun.channels.models import WecomCorp


def seed_account(sandbox, *, openids: list[str] | None = None) -> Account:
    """An account with the sandbox's credentials and its subscribed followers in the
    database (or only ``openids``). Rules allow sending at any hour with no caps, so the
    whole segment is planned (no holdout, no control group)."""

    cfg = sandbox.config
    account = Account.objects.create(
        app_id=cfg.app_id,
        app_secret=cfg.app_secret,
        token=cfg.token,
        account_type=cfg.account_type,
        name="sandbox",
        is_default=True,
    )
    Category.objects.create(account=account, key="sofa", name="沙发")
    Rules.objects.create(
        account=account,
        quiet_start="00:00",
        quiet_end="00:00",
        weekly_cap=100,
        category_cooldown_days=0,
        min_gap_hours=0,
        holdout_fraction=0.0,
        control_fraction=0.0,
        follower_value_yuan=0.0,
    )
    if openids is None:
        with sandbox.platform.lock:
            population = sandbox.platform.population
            openids = population.page(0, population.size)
    now = timezone.now()
    Follower.objects.bulk_create(
        [Follower(account=account, openid=o, subscribed=True, subscribed_at=now) for o in openids],
        batch_size=2000,
    )
    return account


def seed_wecom(account: Account, wecom_sandbox, client) -> WecomCorp:
    """The WeCom sandbox's corp for ``account``, its contacts synced through ``client``."""

    cfg = wecom_sandbox.config
    corp = WecomCorp.objects.create(
        account=account, corp_id=cfg.corp_id, secret=cfg.secret, token=cfg.token, aes_key=cfg.aes_key
    )
    sync_contacts(corp, client)
    return corp


def ready_campaign(
    account: Account,
    *,
    name: str = "新品沙发",
    urgent: bool = False,
    scheduled_for: datetime | None = None,
    body: str = "新款布艺沙发到店，欢迎来看看。",
    policy_blast: bool = True,
    channel: str = Campaign.Channel.MASS,
) -> Campaign:
    """A text campaign on ``channel`` taken through lint, dry-run and approval, scheduled
    for ``scheduled_for`` (default now). ``policy_blast`` keeps everyone reachable in the
    plan (the engine's decision is tested elsewhere)."""
    from fencun.campaigns import planning, services

    category = Category.objects.get(account=account, key="sofa")
    campaign = services.create_campaign(
        account, name=name, category=category, urgent=urgent, body=body, title=name, channel=channel
    )
    services.lint_campaign(campaign, acknowledge_warnings=True)
    planning.dry_run(campaign, policy="blast" if policy_blast else "fencun")
    planning.approve(campaign, by="店长", scheduled_for=scheduled_for or timezone.now())
    campaign.refresh_from_db()
    return campaign
