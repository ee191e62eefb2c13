"""pytest fixtures for tests that need a Weibo: a Weibo sandbox on a free port, in a thread.

Use them from a ``conftest.py``::

    from fencun.sandbox.weibo_fixtures import make_weibo_sandbox, weibo_client, weibo_sandbox  # noqa: F401

- ``make_weibo_sandbox(**config)`` -- a started :class:`~fencun.sandbox.weibo.WeiboSandbox`
  with any :class:`~fencun.sandbox.weibo.WeiboConfig` field; stopped after the test.
- ``weibo_sandbox`` -- one with the default token and safe domain.
- ``weibo_client`` -- a :class:`~fencun.channels.broadcast.client.WeiboClient` for it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from fencun.channels.broadcast.client import WeiboClient
from fencun.sandbox.fixtures import started_sandboxes
from fencun.sandbox.weibo import WeiboSandbox


@pytest.fixture
def make_weibo_sandbox() -> Iterator[Callable[..., WeiboSandbox]]:
    yield from started_sandboxes(lambda **config: WeiboSandbox(**config).start())


@pytest.fixture
def weibo_sandbox(make_weibo_sandbox: Callable[..., WeiboSandbox]) -> WeiboSandbox:
    return make_weibo_sandbox()


@pytest.fixture
def weibo_client(weibo_sandbox: WeiboSandbox) -> Iterator[Any]:
    client = WeiboClient(
        weibo_sandbox.config.access_token,
        api_base=weibo_sandbox.api_base,
        safe_domain=weibo_sandbox.config.safe_domain,
        timeout=5.0,
    )
    yield client
    client.close()
