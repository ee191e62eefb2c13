"""pytest fixtures for tests that need a WeChat: a sandbox on a free port, in a thread.

Use them from a ``conftest.py``::

    from fencun.sandbox.fixtures import make_sandbox, sandbox, sandbox_client  # noqa: F401

- ``sandbox`` — a started :class:`~fencun.sandbox.server.Sandbox` (subscription account,
  50 generated followers, no callback URL), stopped after the test.
- ``make_sandbox(**config)`` — the same with any :class:`~fencun.sandbox.platform.Config`
  field (``account_type="service"``, ``followers=100_000``, ``callback_url=...``,
  ``mode="plaintext"``, ``latency_ms=20``); every sandbox made is stopped after the test.
- ``sandbox_client`` — a :class:`~fencun.channels.wechat.client.WeChatClient` for
  ``sandbox``'s account with in-memory token store and mass ledger and no backoff sleep.

The delivery record (``sandbox.deliveries(openid=, msg_id=, kind=)``, or
``GET /sandbox/deliveries``) lists one dict per message that reached a follower:
``openid``, ``kind`` (``mass``/``preview``/``custom``/``template``), ``msg_id``, ``key``
(the clientmsgid or client_msg_id), ``at``. "Each recipient exactly once" is
``Counter(d["openid"] for d in sandbox.deliveries(kind="mass"))`` having only ones.
Call ``sandbox.flush()`` first: mass jobs and callbacks run in the background.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any, Protocol, TypeVar

import pytest

from fencun.channels.wechat.client import MemoryMassLedger, WeChatClient
from fencun.channels.wechat.tokens import MemoryTokenStore
from fencun.sandbox.server import Sandbox


class _Box(Protocol):
    def stop(self) -> None: ...


B = TypeVar("B", bound=_Box)


def started_sandboxes(start: Callable[..., B], **defaults: Any) -> Iterator[Callable[..., B]]:
    """Body of a ``make_*_sandbox`` fixture: yield a maker, then stop every box it made.

    ``start(**config)`` builds and starts one sandbox; ``defaults`` fill in config the
    test did not give.
    """
    started: list[B] = []

    def make(**config: Any) -> B:
        box = start(**{**defaults, **config})
        started.append(box)
        return box

    yield make
    for box in started:
        box.stop()


@pytest.fixture
def make_sandbox() -> Iterator[Callable[..., Sandbox]]:
    yield from started_sandboxes(lambda **config: Sandbox(**config).start(), followers=50)


@pytest.fixture
def sandbox(make_sandbox: Callable[..., Sandbox]) -> Sandbox:
    return make_sandbox()


@pytest.fixture
def sandbox_client(sandbox: Sandbox) -> Iterator[Any]:
    client = WeChatClient(
        sandbox.config.app_id,
        sandbox.config.app_secret,
        account_type=sandbox.config.account_type,
        api_base=sandbox.api_base,
        token_store=MemoryTokenStore(),
        ledger=MemoryMassLedger(),
        backoff=0.0,
        timeout=5.0,
    )
    yield client
    client.close()
