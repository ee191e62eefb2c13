"""Broadcast fixtures: the Weibo sandbox and a client for it."""

from __future__ import annotations

from fencun.sandbox.wecom_fixtures import make_wecom_sandbox  # noqa: F401
from fencun.sandbox.weibo_fixtures import make_weibo_sandbox, weibo_client, weibo_sandbox  # noqa: F401
