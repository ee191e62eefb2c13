"""SIGKILL ``fencun serve`` at random points while WeChat keeps posting callbacks.

The whole server dies at once (gunicorn's master and workers and the embedded worker: its
process group, as a power cut takes it) with requests in flight, and is started again.
The senders act as WeChat does: a message not acknowledged with ``success`` is sent again
until it is. At the end every message is in the event log exactly once: an acknowledged
one never lost, a retried one never stored twice.
"""

from __future__ import annotations

import random
import threading
import time
from collections import Counter
from urllib.parse import urlencode

import httpx
import pytest
from tests import figures, live
from tests.conftest import WeChatSigner, message, sized

pytestmark = [pytest.mark.fuzz, pytest.mark.slow(seconds=sized(240, 45))]

MESSAGES = sized(4_000, 400)
KILLS = sized(20, 2)
SENDERS = 8


class WeChat:
    """Senders posting each message until it is acknowledged, as WeChat retries."""

    def __init__(self, base: str, count: int) -> None:
        signer = WeChatSigner()
        self.base = base
        self.requests = [
            signer.safe(message(f"o_kill_{i % 97}", MsgType="text", Content=f"m{i}", MsgId=10_000 + i))
            for i in range(count)
        ]
        self.next = 0
        self.acked = 0
        self.retries = 0
        self.lock = threading.Lock()
        # Cleared while the server is restarted, so that the stream goes on only once the
        # test watches it again: on a loaded machine it could otherwise end before the
        # next kill.
        self.flowing = threading.Event()
        self.flowing.set()
        self.threads = [threading.Thread(target=self._send, daemon=True) for _ in range(SENDERS)]

    def start(self) -> None:
        for thread in self.threads:
            thread.start()

    def _take(self) -> int | None:
        with self.lock:
            if self.next >= len(self.requests):
                return None
            self.next += 1
            return self.next - 1

    def _send(self) -> None:
        with httpx.Client(timeout=10) as http:
            while self.flowing.wait() and (i := self._take()) is not None:
                query, body = self.requests[i]
                while True:
                    try:
                        answer = http.post(f"{self.base}/wechat/callback?{urlencode(query)}", content=body)
                        if answer.status_code == 200 and answer.text == "success":
                            break
                    except httpx.HTTPError:
                        pass  # the server died under the request, or is not up yet
                    with self.lock:
                        self.retries += 1
                    time.sleep(0.05)
                with self.lock:
                    self.acked += 1

    def join(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        for thread in self.threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        assert not any(t.is_alive() for t in self.threads), f"{self.acked} of {len(self.requests)} acknowledged"


def test_a_killed_gateway_loses_no_acknowledged_message_and_stores_none_twice(
    tmp_path, django_db_setup, django_db_blocker
):
    from fencun.audience.models import Event

    rng = random.Random(9)
    with live.test_database(django_db_blocker) as database_url:
        env = live.environment(tmp_path, database_url)
        server = live.start(env)
        port = int(server.base.rsplit(":", 1)[1])
        wechat = WeChat(server.base, MESSAGES)
        wechat.start()
        at_kill = []
        try:
            for k in range(KILLS):
                # Each kill somewhere in its own stretch of the stream, with requests in flight.
                mark = int(MESSAGES * (k + rng.uniform(0.3, 1.0)) / (KILLS + 1))
                deadline = time.monotonic() + 120
                while wechat.acked < mark and time.monotonic() < deadline:
                    time.sleep(0.001)
                at_kill.append(wechat.acked)
                server.kill()
                wechat.flowing.clear()
                server = live.start(env, port=port)
                wechat.flowing.set()
            wechat.join(timeout=300)
        finally:
            server.stop()
        assert all(0 < n < MESSAGES for n in at_kill), at_kill  # every kill landed mid-stream
        with django_db_blocker.unblock():
            stored = Counter(
                e["content"] for e in Event.objects.filter(kind="text").values_list("payload", flat=True)
            )
    sent = {f"m{i}" for i in range(MESSAGES)}
    lost = len(sent - set(stored))
    twice = sum(1 for n in stored.values() if n > 1)
    figures.record("gateway-kill", messages=MESSAGES, kills=KILLS, retried_requests=wechat.retries,
                   lost=lost, duplicated=twice)
    assert lost == 0, f"{lost} acknowledged messages lost"
    assert twice == 0, f"{twice} messages stored twice"
    assert set(stored) == sent
    assert wechat.retries > 0  # the kills did cut requests off
