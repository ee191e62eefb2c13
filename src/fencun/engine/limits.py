"""WeChat platform limits by account type, read from ``data/platform_limits.json``.

The JSON table is the single source: every value there carries the documentation page
it comes from. The engine, the WeChat API client and the sandbox all read it through
:func:`load_platform_limits` (typed view) or :func:`platform_limits_table` (the raw
table, sources included).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

ACCOUNT_TYPES = ("subscription", "service")


@cache
def platform_limits_table() -> dict[str, Any]:
    """The raw table: ``{"account_types": {type: {name: {"value", "source", ...}}}, "common": ...}``."""
    text = resources.files("fencun.engine").joinpath("data/platform_limits.json").read_text("utf-8")
    table: dict[str, Any] = json.loads(text)
    return table


@dataclass(frozen=True)
class PlatformLimits:
    """The limits that apply to one account type. ``None`` means "no such limit"."""

    account_type: str
    mass_sends_per_day_account: int | None
    mass_sends_per_month_per_follower: int | None
    openid_list_send: bool
    tag_send: bool
    template_messages: bool
    customer_service_messages: bool
    freepublish_requires_verification: bool
    mass_history_to_all_only: bool
    openid_list_min: int
    openid_list_max: int
    mass_api_requests_per_minute: int
    clientmsgid_dedup_hours: int
    clientmsgid_max_bytes: int
    customer_service_window_hours: int
    customer_service_per_message: int
    customer_service_event_window_minutes: int
    customer_service_per_event: int
    customer_service_idempotency_key: bool
    error_answer_means_not_sent: bool
    template_marketing_allowed: bool
    templates_per_account: int
    tags_per_account: int
    tags_per_follower: int
    tag_batch_openids_max: int
    user_list_page_size: int
    user_batchget_max: int

    def source(self, name: str) -> str:
        """The documentation page a limit comes from."""
        table = platform_limits_table()
        entry = table["account_types"][self.account_type].get(name) or table["common"][name]
        return str(entry["source"])


@cache
def load_platform_limits(account_type: str) -> PlatformLimits:
    """Typed limits for ``subscription`` or ``service``; ValueError for anything else."""
    if account_type not in ACCOUNT_TYPES:
        raise ValueError(f"unknown account type {account_type!r}; expected one of {ACCOUNT_TYPES}")
    table = platform_limits_table()
    values: dict[str, Any] = {k: v["value"] for k, v in table["common"].items()}
    values.update({k: v["value"] for k, v in table["account_types"][account_type].items()})
    fields = PlatformLimits.__dataclass_fields__
    return PlatformLimits(
        account_type=account_type, **{k: values[k] for k in fields if k != "account_type"}
    )


@cache
def wecom_limits_table() -> dict[str, Any]:
    """The raw WeCom table: ``{"limits": {name: {"value", "source", "note"?}}}``."""
    text = resources.files("fencun.engine").joinpath("data/wecom_limits.json").read_text("utf-8")
    table: dict[str, Any] = json.loads(text)
    return table


@dataclass(frozen=True)
class WeComLimits:
    """WeCom customer-contact limits (``data/wecom_limits.json``); counts per platform day
    are per Beijing-time calendar day."""

    mass_per_customer_per_day: int
    mass_per_customer_per_day_by_member: int
    mass_external_userids_max: int
    mass_attachments_max: int
    moments_per_customer_per_day: int
    moment_text_max_chars: int
    moment_attachments_max: int
    moment_list_max_days: int
    moment_list_page_max: int
    groupmsg_list_max_days: int
    groupmsg_list_page_max: int
    groupmsg_result_page_max: int
    batch_get_by_user_users_max: int
    batch_get_by_user_page_max: int
    api_calls_per_minute_per_corp: int
    api_calls_per_hour_per_corp: int
    access_token_seconds: int

    @staticmethod
    def source(name: str) -> str:
        """The documentation page a limit comes from."""
        return str(wecom_limits_table()["limits"][name]["source"])


@cache
def load_wecom_limits() -> WeComLimits:
    """Typed WeCom limits."""
    values = {k: v["value"] for k, v in wecom_limits_table()["limits"].items()}
    return WeComLimits(**{k: values[k] for k in WeComLimits.__dataclass_fields__})
