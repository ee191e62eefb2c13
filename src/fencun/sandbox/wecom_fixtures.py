"""pytest fixtures for tests that need a WeCom: a WeCom sandbox on a free port, in a thread.

Use them from a ``conftest.py``::

    from fencun.sandbox.wecom_fixtures import make_wecom_sandbox, wecom_client  # noqa: F401

- ``make_wecom_sandbox(**config)`` -- a started :class:`~fencun.sandbox.wecom.WeComSandbox`
  with any :class:`~fencun.sandbox.wecom.WeComConfig` field (``contacts=``,
  ``callback_url=``, ``shared_unionids=``); every sandbox made is stopped after the test.
- ``wecom_sandbox`` -- one with 30 generated contacts and no callback URL.
- ``wecom_client`` -- a :class:`~fencun.channels.wecom.client.WeComClient` for
  ``wecom_sandbox`` with an in-memory token store and ledger and no backoff sleep.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from fencun.channels.wechat.tokens import MemoryTokenStore
from fencun.channels.wecom.client import MemoryDispatchLedger, WeComClient
from fencun.sandbox.fixtures import started_sandboxes
from fencun.sandbox.wecom import WeComSandbox


@pytest.fixture
def make_wecom_sandbox() -> Iterator[Callable[..., WeComSandbox]]:
    yield from started_sandboxes(lambda **config: WeComSandbox(**config).start())


@pytest.fixture
def wecom_sandbox(make_wecom_sandbox: Callable[..., WeComSandbox]) -> WeComSandbox:
    return make_wecom_sandbox()


@pytest.fixture
def wecom_client(wecom_sandbox: WeComSandbox) -> Iterator[Any]:
    client = WeComClient(
        wecom_sandbox.config.corp_id,
        wecom_sandbox.config.secret,
        api_base=wecom_sandbox.api_base,
        token_store=MemoryTokenStore(),
        ledger=MemoryDispatchLedger(),
        backoff=0.0,
        timeout=5.0,
    )
    yield client
    client.close()
