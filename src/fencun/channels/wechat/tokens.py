"""Where the access_token lives, and the one lock per appid around fetching it.

WeChat allows one valid token per appid: a classic fetch invalidates the previous token
(it lingers 5 minutes), and fetches are capped per day. So every process, on every
machine, must share one token and at most one of them may fetch at a time. The stores
here hold that token and make the fetch single-flight:

- :class:`DatabaseTokenStore` (default): a row per appid in ``channels_accesstoken``
  carrying a short *lease*. The lease is taken in a tiny transaction (``SELECT … FOR
  UPDATE`` on PostgreSQL; an IMMEDIATE transaction on SQLite, which holds the database's
  write lock), the fetch happens outside any transaction, and the token is written back
  with the lease released. Holding a SQLite write lock across a network call would stall
  every other writer, hence the lease instead of a long transaction. A crashed fetcher's
  lease simply expires.
- :class:`RedisTokenStore` (when ``FENCUN_QUEUE_URL`` is a Redis URL): a Redis lock and
  key, for deployments whose workers already share Redis; the keys are named after
  ``FENCUN_QUEUE_NAME`` (``fencun`` unless set), like the queue's.
- :class:`MemoryTokenStore`: one process only (scripts, the sandbox's own checks).
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from fencun import clock, sealing

#: Refresh this many seconds before expiry. Below WeChat's 5-minute early rotation of
#: stable tokens, so a refresh inside the window gets the rotated token, not the old one.
REFRESH_MARGIN_SECONDS = 240
#: Never fetch again within this many seconds of a fetch unless the token was rejected;
#: stops a thrash when WeChat hands back a token that is already near its end.
MIN_FETCH_INTERVAL_SECONDS = 30


@dataclass(frozen=True)
class AccessToken:
    """An access_token and when it stops working (unix seconds)."""

    value: str
    expires_at: float
    fetched_at: float = 0.0

    def __repr__(self) -> str:  # the token is a credential
        return f"<AccessToken …{self.value[-4:]} expires_at={self.expires_at:.0f}>"

    def usable(self, now: float, reject: str | None = None) -> bool:
        """Good to use now: not the rejected value and not inside the refresh margin."""
        if not self.value or self.value == reject or now >= self.expires_at:
            return False
        if now < self.expires_at - REFRESH_MARGIN_SECONDS:
            return True
        # Near its end: keep using a freshly fetched token rather than fetch in a loop.
        return now - self.fetched_at < MIN_FETCH_INTERVAL_SECONDS


Fetch = Callable[[], AccessToken]


class TokenStore(Protocol):
    """Shared storage of one access_token per appid with a single-flight refresh."""

    def current(self, app_id: str) -> AccessToken | None:
        """The stored token, if any (no lock, no fetch)."""

    def refresh(self, app_id: str, fetch: Fetch, reject: str | None = None) -> AccessToken:
        """Return a usable token other than ``reject``, calling ``fetch`` only if no other
        holder has stored one; at most one caller per appid fetches at a time."""


class MemoryTokenStore:
    """Tokens in this process's memory; single-flight across its threads only."""

    def __init__(self) -> None:
        self._tokens: dict[str, AccessToken] = {}
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()

    def current(self, app_id: str) -> AccessToken | None:
        return self._tokens.get(app_id)

    def refresh(self, app_id: str, fetch: Fetch, reject: str | None = None) -> AccessToken:
        with self._guard:
            lock = self._locks.setdefault(app_id, threading.Lock())
        with lock:
            stored = self._tokens.get(app_id)
            if stored is not None and stored.usable(clock.time(), reject):
                return stored
            token = fetch()
            self._tokens[app_id] = token
            return token


def _token_of(row: Any) -> AccessToken:
    """The token an ``AccessTokenLease`` row holds; one sealed under a key since dropped
    is unusable, so it reads as empty and is fetched again."""
    try:
        value = row.value.reveal() if row.value else ""
    except sealing.SecretUnreadable:
        value = ""
    return AccessToken(value, row.expires_at, row.fetched_at)


class DatabaseTokenStore:
    """Tokens in the database, one row per appid, fetched under a lease (see module doc)."""

    def __init__(
        self, lease_seconds: float = 30.0, wait_seconds: float = 60.0, poll_seconds: float = 0.05
    ) -> None:
        self.lease_seconds = lease_seconds
        self.wait_seconds = wait_seconds
        self.poll_seconds = poll_seconds

    def current(self, app_id: str) -> AccessToken | None:
        from fencun.accounts.models import AccessTokenLease

        row = AccessTokenLease.objects.filter(app_id=app_id).first()
        self._release_thread_connection()
        if row is None or not row.value:
            return None
        return _token_of(row)

    def refresh(self, app_id: str, fetch: Fetch, reject: str | None = None) -> AccessToken:
        try:
            return self._refresh(app_id, fetch, reject)
        finally:
            self._release_thread_connection()

    def _refresh(self, app_id: str, fetch: Fetch, reject: str | None) -> AccessToken:
        from django.db import IntegrityError, transaction

        from fencun.accounts.models import AccessTokenLease

        try:
            with transaction.atomic():
                AccessTokenLease.objects.get_or_create(app_id=app_id)
        except IntegrityError:
            pass  # another process created the row first
        owner = uuid.uuid4().hex
        give_up = time.monotonic() + self.wait_seconds
        while True:
            with transaction.atomic():
                row = AccessTokenLease.objects.select_for_update().get(app_id=app_id)
                now = clock.time()
                if row.value and _token_of(row).usable(now, reject):
                    return _token_of(row)
                if row.lease_until is None or row.lease_until <= now:
                    row.lease_owner = owner
                    row.lease_until = now + self.lease_seconds
                    row.save(update_fields=["lease_owner", "lease_until"])
                    break
            if time.monotonic() > give_up:
                from fencun.channels.wechat.errors import TransportError

                raise TransportError(
                    f"waited {self.wait_seconds:.0f} s for another process's token fetch"
                )
            time.sleep(self.poll_seconds)
        try:
            token = fetch()
        except BaseException:
            AccessTokenLease.objects.filter(app_id=app_id, lease_owner=owner).update(
                lease_owner="", lease_until=None
            )
            raise
        from django.db.models import F

        with transaction.atomic():
            AccessTokenLease.objects.filter(app_id=app_id).update(
                value=token.value,
                expires_at=token.expires_at,
                fetched_at=token.fetched_at,
                fetch_count=F("fetch_count") + 1,
                lease_owner="",
                lease_until=None,
            )
        return token

    @staticmethod
    def _release_thread_connection() -> None:
        # Worker threads (the sync's batchget pool) open their own connection when they
        # refresh; close it so it does not outlive the thread holding SQLite or PG locks.
        if threading.current_thread() is threading.main_thread():
            return
        from django.db import connection

        if not connection.in_atomic_block:
            connection.close()


class RedisTokenStore:
    """Tokens in Redis under ``<name>:wechat:token:<appid>``, fetched under a Redis lock.

    ``name`` is the deployment's queue name (``fencun`` by default).
    """

    def __init__(
        self,
        url: str,
        lease_seconds: float = 30.0,
        wait_seconds: float = 60.0,
        name: str = "fencun",
    ) -> None:
        import redis

        self._redis: Any = redis.Redis.from_url(url)
        self.lease_seconds = lease_seconds
        self.wait_seconds = wait_seconds
        self.name = name

    def _key(self, app_id: str) -> str:
        return f"{self.name}:wechat:token:{app_id}"

    def current(self, app_id: str) -> AccessToken | None:
        raw = self._redis.get(self._key(app_id))
        if not raw:
            return None
        data = json.loads(raw)
        try:
            value = sealing.unseal(data["value"])
        except sealing.SecretUnreadable:
            return None  # sealed under a key since dropped: fetch a new one
        return AccessToken(value, float(data["expires_at"]), float(data.get("fetched_at", 0)))

    def refresh(self, app_id: str, fetch: Fetch, reject: str | None = None) -> AccessToken:
        lock = self._redis.lock(
            f"{self.name}:wechat:token-lock:{app_id}",
            timeout=self.lease_seconds,
            blocking_timeout=self.wait_seconds,
        )
        if not lock.acquire(blocking=True):
            from fencun.channels.wechat.errors import TransportError

            raise TransportError(
                f"waited {self.wait_seconds:.0f} s for another process's token fetch"
            )
        try:
            stored = self.current(app_id)
            if stored is not None and stored.usable(clock.time(), reject):
                return stored
            token = fetch()
            ttl = max(1, int(token.expires_at - clock.time()))
            payload = {
                "value": sealing.seal(token.value),  # sealed at rest, like the database's
                "expires_at": token.expires_at,
                "fetched_at": token.fetched_at,
            }
            self._redis.set(self._key(app_id), json.dumps(payload), ex=ttl)
            return token
        finally:
            lock.release()


def default_token_store() -> TokenStore:
    """Redis when the deployment runs its queue on Redis, else the database."""
    from django.conf import settings

    url = getattr(settings, "QUEUE_URL", "")
    if url.startswith(("redis://", "rediss://", "unix://")):
        return RedisTokenStore(url, name=getattr(settings, "QUEUE_NAME", "fencun"))
    return DatabaseTokenStore()
