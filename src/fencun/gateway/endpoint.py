"""The callback endpoint, apart from any web framework: one request in, one answer out.

Every way of serving ``/wechat/callback`` runs the same steps (:func:`_steps`): the
asynchronous callable that production uses (:mod:`fencun.gateway.asgi`, through
:func:`answer_async`), the lean WSGI callable (:mod:`fencun.gateway.wsgi`) and the
Django view (``views.py``, for the URL conf and Django's test client), both through
:func:`answer`. So they answer alike by construction: same checks in the same order, same
statuses, same bodies. The steps hand the one slow thing, storing the message, to their
driver: a blocking wait in :func:`answer`, an ``await`` in :func:`answer_async`.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Generator, Mapping
from dataclasses import dataclass
from typing import Any

from asgiref.sync import sync_to_async
from django.conf import settings

from fencun import bodies
from fencun.accounts.current import default_account
from fencun.accounts.models import Account
from fencun.gateway import refusals, replies
from fencun.gateway.callback import (
    STORE_TIMEOUT_SECONDS,
    Received,
    receive_message,
    reply_to,
    verify_url,
)
from fencun.gateway.ingest import committer
from fencun.protocol.errors import PayloadTooLarge, ProtocolError
from fencun.sealing import SecretUnreadable

log = logging.getLogger(__name__)

_ACCOUNT_CACHE_SECONDS = 5.0
_accounts: dict[str, tuple[float, Account | None]] = {}
_accounts_lock = threading.Lock()

TEXT = "text/plain; charset=utf-8"


@dataclass(frozen=True)
class Answer:
    """An HTTP answer: status, body, its content type and any extra headers."""

    status: int
    body: bytes
    content_type: str = TEXT
    headers: tuple[tuple[str, str], ...] = ()


def account_for(app_id: str | None) -> Account | None:
    """The account a callback is for (``/wechat/callback/<app_id>``, else the default one).

    Looked up on every callback; a short per-process cache keeps it off the hot path.
    """
    with _accounts_lock:
        hit = _accounts.get(app_id or "")
    if hit and time.monotonic() - hit[0] < _ACCOUNT_CACHE_SECONDS:
        return hit[1]
    return _load_account(app_id)


def _load_account(app_id: str | None) -> Account | None:
    now = time.monotonic()
    account = Account.objects.filter(app_id=app_id).first() if app_id else default_account()
    with _accounts_lock:
        _accounts[app_id or ""] = (now, account)
    return account


def _age(app_id: str | None) -> float:
    """How old the cached account and its reply rules are (seconds; inf: not cached)."""
    with _accounts_lock:
        hit = _accounts.get(app_id or "")
    if hit is None:
        return float("inf")
    age = time.monotonic() - hit[0]
    return age if hit[1] is None else max(age, replies.age(hit[1].pk))


def _warm(app_id: str | None) -> None:
    """Load the account and its reply rules into the caches (a short query each)."""
    account = _load_account(app_id)
    if account is not None:
        replies.load(account.pk)


_warming: dict[tuple[asyncio.AbstractEventLoop, str], asyncio.Future[None]] = {}


async def _ensure_cached(app_id: str | None) -> None:
    """Make sure the steps find the account and its rules cached, without a query in the
    event loop: past half their life they are reloaded in a thread (once, however many
    callbacks ask), and waited for only when they are about to expire."""
    age = _age(app_id)
    if age < _ACCOUNT_CACHE_SECONDS / 2:
        return
    key = (asyncio.get_running_loop(), app_id or "")
    loading = _warming.get(key)
    if loading is None or loading.done():
        loading = _warming[key] = asyncio.ensure_future(
            sync_to_async(_warm, thread_sensitive=False)(app_id)
        )
    if age >= _ACCOUNT_CACHE_SECONDS * 0.8:
        await asyncio.shield(loading)


def forget_cached_accounts() -> None:
    with _accounts_lock:
        _accounts.clear()


def _read_body(environ: Mapping[str, Any]) -> bytes:
    # Never more than the limit in memory: an oversized body is refused, not buffered,
    # whether it states its length or comes in chunks.
    try:
        return bodies.read_body(environ, settings.CALLBACK_MAX_BYTES)
    except bodies.BodyTooLarge:
        raise PayloadTooLarge("body too large") from None


def _refuse(exc: ProtocolError, environ: Mapping[str, Any]) -> Answer:
    # The message names the check that failed, never a secret or the payload.
    log.info("callback refused: %s: %s", type(exc).__name__, exc)
    return Answer(exc.status, refusals.body(type(exc).__name__, str(exc), environ))


def _steps(
    method: str,
    app_id: str | None,
    query: Mapping[str, str],
    environ: Mapping[str, Any],
) -> Generator[Received, None, Answer]:
    """The checks and the answer; yields the one message to store before it is answered."""
    if method not in ("GET", "POST"):
        return Answer(405, refusals.body("MethodNotAllowed", "method not allowed", environ),
                      headers=(("Allow", "GET, POST"),))
    account = account_for(app_id)
    if account is None:
        return Answer(404, refusals.body("NoAccount", "no WeChat account is configured", environ))
    try:
        if method == "GET":
            return Answer(200, verify_url(account, query).encode(), "text/plain")
        received = receive_message(account, query, _read_body(environ))
    except ProtocolError as exc:
        return _refuse(exc, environ)
    except bodies.LengthRequired as exc:
        log.info("callback refused: %s", exc)
        return Answer(411, refusals.body("LengthRequired", "send Content-Length", environ))
    except SecretUnreadable as exc:
        # The server's key configuration, not the request: WeChat retries, and the
        # operator reads why in the log.
        log.error("callback not answered: %s", exc)
        return Answer(503, refusals.body(
            "SecretUnreadable", "the account's secrets cannot be decrypted", environ
        ))
    yield received
    reply = reply_to(received)
    return Answer(200, reply.body.encode(), reply.content_type)


def answer(
    method: str,
    app_id: str | None,
    query: Mapping[str, str],
    environ: Mapping[str, Any],
) -> Answer:
    """``GET`` verifies the server URL; ``POST`` receives a message or event.

    ``environ`` is the request's WSGI environ, its body read from ``wsgi.input`` (with a
    ``Content-Length`` or in chunks, see :mod:`fencun.bodies`) only for a ``POST``. A
    message is stored (this thread waits for its commit) before it is answered.
    """
    steps = _steps(method, app_id, query, environ)
    try:
        received = next(steps)
        committer.store(received.account, received.incoming, STORE_TIMEOUT_SECONDS)
        steps.send(None)
    except StopIteration as done:
        result: Answer = done.value
        return result
    raise RuntimeError("the callback's steps store one message at most")


async def answer_async(
    method: str,
    app_id: str | None,
    query: Mapping[str, str],
    environ: Mapping[str, Any],
) -> Answer:
    """:func:`answer` for an event loop: the caches the steps read are warmed first (in
    a thread, when they are old), and the store is awaited."""
    await _ensure_cached(app_id)
    steps = _steps(method, app_id, query, environ)
    try:
        received = next(steps)
        await committer.store_async(received.account, received.incoming, STORE_TIMEOUT_SECONDS)
        steps.send(None)
    except StopIteration as done:
        result: Answer = done.value
        return result
    raise RuntimeError("the callback's steps store one message at most")
