"""One writer process for the callbacks of every server process on this machine.

A server process that wrote its own callbacks had its writer thread compete for the
interpreter lock with the threads serving requests: every database call gives the lock up
and waits to get it back, and under load an inbox append of a few rows took 5-6 ms of
wall time for a fraction of a millisecond of work. Server processes also took turns at
SQLite's one write lock through a file lock. Here a single process, doing nothing else,
owns the database writes of the callbacks: the server processes hand it each event over
a Unix socket and wait for its answer, and it appends whatever has arrived from all of
them in one transaction (:mod:`fencun.gateway.inbox`), answers, and folds the inbox into
the event log between commits.

The protocol is length-prefixed JSON frames over ``SOCK_STREAM``: a request is ``[id,
account_id, kind, openid, occurred_at, payload, source, dedup_key]`` (``occurred_at`` in
ISO 8601), an answer ``[id, ""]`` once the event is committed, or ``[id, "error text"]``.
An answer is only ever sent after the commit. A server that cannot reach the writer, or
loses it with callbacks unanswered, stores them with its own writer thread
(:mod:`fencun.gateway.ingest`); a copy the writer did commit is folded away as a
duplicate, so nothing acknowledged is lost and nothing is stored twice.

Started by ``fencun serve`` beside the web server (``FENCUN_WRITER_SOCKET`` tells the
server processes where it listens); without it, each server process writes its own.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import logging
import os
import selectors
import socket
import struct
import threading
import time
from datetime import datetime
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from fencun.audience.services import NewEvent
from fencun.gateway import inbox

log = logging.getLogger(__name__)

SOCKET_ENV = "FENCUN_WRITER_SOCKET"
_HEADER = struct.Struct("!I")
MAX_FRAME = 1 << 20  # a callback body is at most CALLBACK_MAX_BYTES; its event is smaller
#: Under load, a commit waits this long for more callbacks to join it (group commit).
GATHER_SECONDS = 0.002
SEND_TIMEOUT_SECONDS = 1.0


def _frame(obj: Any) -> bytes:
    data = json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode()
    return _HEADER.pack(len(data)) + data


class _Client:
    """One server process's connection, as the writer sees it."""

    __slots__ = ("sock", "buffer", "out")

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.buffer = bytearray()
        self.out = bytearray()

    def frames(self) -> list[list[Any]]:
        found = []
        while len(self.buffer) >= _HEADER.size:
            (size,) = _HEADER.unpack_from(self.buffer)
            if size > MAX_FRAME:
                raise ValueError("frame too large")
            if len(self.buffer) < _HEADER.size + size:
                break
            request = json.loads(self.buffer[_HEADER.size : _HEADER.size + size])
            if not isinstance(request, list) or not request:
                raise ValueError("a request is a non-empty list")
            found.append(request)
            del self.buffer[: _HEADER.size + size]
        return found


class Writer:
    """The writer's loop: accept, read frames from every connection, commit, answer, fold."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.selector = selectors.DefaultSelector()
        self.listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        if os.path.exists(path):
            os.unlink(path)  # a socket file left by a writer that was killed
        self.listener.bind(path)
        os.chmod(path, 0o600)
        self.listener.listen(512)
        self.listener.setblocking(False)
        self.selector.register(self.listener, selectors.EVENT_READ, None)
        self.folds = inbox.FoldPolicy()
        self.stopping = threading.Event()

    def serve_forever(self) -> None:
        try:
            while not self.stopping.is_set():
                self._turn()
        finally:
            self.folds.fold(None)
            self.selector.close()
            self.listener.close()
            connection.close()

    def _turn(self) -> None:
        timeout = 0.02 if self.folds.unfolded else 1.0
        pending: list[tuple[_Client, list[Any]]] = []
        events = self.selector.select(timeout)
        if not events:
            if self.folds.unfolded:
                self.folds.fold()
            return
        # Everything that has arrived by now goes into this commit; under load, what
        # arrives within GATHER_SECONDS too.
        busy = not self.folds.quiet
        gather_until = time.monotonic() + GATHER_SECONDS
        while events:
            for key, _mask in events:
                if key.data is None:
                    self._accept()
                else:
                    pending.extend((key.data, f) for f in self._read(key.data))
            wait = max(gather_until - time.monotonic(), 0.0) if busy else 0.0
            events = self.selector.select(wait)
        if not pending:
            return
        answers = self._commit([f for _c, f in pending])
        quiet = self.folds.quiet
        if quiet:
            self.folds.fold()
        for (client, f), error in zip(pending, answers, strict=True):
            client.out += _frame([f[0], error])
        for client in {c for c, _f in pending}:
            self._send(client)
        if not quiet:
            self.folds.fold_if_due()

    def _accept(self) -> None:
        try:
            sock, _ = self.listener.accept()
        except BlockingIOError:
            return
        sock.setblocking(False)
        self.selector.register(sock, selectors.EVENT_READ, _Client(sock))

    def _read(self, client: _Client) -> list[list[Any]]:
        try:
            data = client.sock.recv(1 << 16)
        except (BlockingIOError, InterruptedError):
            return []
        except OSError:
            data = b""
        if not data:
            self._drop(client)
            return []
        client.buffer += data
        try:
            return client.frames()
        except ValueError:
            log.warning("writer: a connection sent a malformed frame; closed")
            self._drop(client)
            return []

    def _drop(self, client: _Client) -> None:
        with contextlib.suppress(KeyError, ValueError):
            self.selector.unregister(client.sock)
        client.sock.close()

    def _send(self, client: _Client) -> None:
        # Answers are small and the server is waiting for them: a blocking send, but one
        # that gives up on a server that stopped reading (its callbacks then fail and are
        # retried by WeChat) rather than holding every other server's callbacks.
        try:
            client.sock.settimeout(SEND_TIMEOUT_SECONDS)
            client.sock.sendall(client.out)
            client.sock.setblocking(False)
        except OSError:
            self._drop(client)
        client.out.clear()

    def _commit(self, frames: list[list[Any]]) -> list[str]:
        """Append the frames' events in one transaction; the error text per frame ("" once
        stored). A batch that fails is appended a frame at a time."""
        rows = []
        errors = [""] * len(frames)
        for i, f in enumerate(frames):
            try:
                rows.append((i, _row(f)))
            except (ValueError, TypeError, IndexError) as exc:
                errors[i] = f"bad frame: {exc}"
        try:
            with transaction.atomic():
                inbox.append([r for _i, r in rows], timezone.now())
        except Exception:  # noqa: BLE001 - isolate the bad event: one transaction each
            for i, row in rows:
                try:
                    with transaction.atomic():
                        inbox.append([row], timezone.now())
                except Exception as exc:  # noqa: BLE001 - the server thread must hear about it
                    errors[i] = type(exc).__name__
        self.folds.arrived(len(rows))
        return errors


def _row(f: list[Any]) -> tuple[int, NewEvent]:
    _id, account_id, kind, openid, occurred_at, payload, source, key = f
    if not isinstance(payload, dict):
        raise TypeError("payload must be an object")
    return int(account_id), NewEvent(
        str(kind), str(openid), datetime.fromisoformat(occurred_at), payload, str(source), str(key)
    )


def _time_out(future: asyncio.Future[str]) -> None:
    if not future.done():
        future.set_exception(TimeoutError("the writer did not answer in time"))


class AsyncWriterClient:
    """A server process's way to the writer, from its event loop: one connection, many
    requests in flight on it, each answered by id; opened on first use and again after
    the writer went away."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._writer: asyncio.StreamWriter | None = None
        self._futures: dict[int, asyncio.Future[str]] = {}
        self._ids = itertools.count(1)
        self._connecting: asyncio.Lock | None = None
        self._out: list[bytes] = []  # frames of this turn of the loop, written together
        self._out_to: asyncio.StreamWriter | None = None  # the connection they are for

    async def store(self, account_id: int, e: NewEvent, timeout: float) -> None:
        """Return once the writer has committed ``e``. ``ConnectionError`` or
        ``FileNotFoundError``: no writer to hand it to (nothing was confirmed);
        ``TimeoutError``: no answer within ``timeout`` seconds; ``RuntimeError``: the
        writer could not store it."""
        writer = self._writer or await self._connect()
        request_id = next(self._ids)
        loop = asyncio.get_running_loop()
        future: asyncio.Future[str] = loop.create_future()
        self._futures[request_id] = future
        if self._out and self._out_to is not writer:
            self._out.clear()  # their connection went within this turn, failing them
        if not self._out:
            self._out_to = writer
            loop.call_soon(self._flush)
        self._out.append(
            _frame([request_id, account_id, e.kind, e.openid, e.occurred_at.isoformat(), e.payload,
                    e.source, e.dedup_key])
        )
        # A timer, not asyncio.wait_for: that wraps every wait in a task of its own.
        timer = loop.call_later(timeout, _time_out, future)
        try:
            error = await future
        finally:
            timer.cancel()
            self._futures.pop(request_id, None)
        if error:
            raise RuntimeError(f"the writer could not store the event: {error}")

    def _flush(self) -> None:
        """One write for every frame of the loop's turn, not a system call each. Frames
        for a connection that has gone meanwhile are dropped: their callbacks have been
        failed with it (:meth:`_answers`) and are stored another way."""
        data = b"".join(self._out)
        self._out.clear()
        if data and self._out_to is not None and self._out_to is self._writer:
            self._out_to.write(data)

    async def _connect(self) -> asyncio.StreamWriter:
        if self._connecting is None:
            self._connecting = asyncio.Lock()
        async with self._connecting:
            if self._writer is None:
                reader, writer = await asyncio.open_unix_connection(self.path)
                self._writer = writer
                asyncio.get_running_loop().create_task(self._answers(reader, writer))
            return self._writer

    async def _answers(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                (size,) = _HEADER.unpack(await reader.readexactly(_HEADER.size))
                request_id, error = json.loads(await reader.readexactly(size))
                future = self._futures.get(request_id)
                if future is not None and not future.done():
                    future.set_result(error)
        except (OSError, EOFError, ValueError):
            pass  # the writer went away (asyncio.IncompleteReadError is an EOFError)
        finally:
            # No await from here on: every request still waiting was sent on this
            # connection, and none was confirmed.
            self._writer = None
            writer.close()
            for future in self._futures.values():
                if not future.done():
                    future.set_exception(ConnectionResetError("the writer went away"))
