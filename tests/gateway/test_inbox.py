"""The callbacks' inbox and the writer process: a durable append first, the event log once."""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import struct
import tempfile
import threading
from datetime import UTC, datetime, timedelta

import pytest
from tests.conftest import message

from fencun.audience import services
from fencun.audience.models import Event, Follower
from fencun.audience.services import NewEvent
from fencun.gateway import inbox
from fencun.gateway.ingest import GroupCommitter
from fencun.gateway.models import InboxEvent
from fencun.gateway.normalize import normalize
from fencun.gateway.tasks import fold_inbox_tick
from fencun.gateway.writer import SOCKET_ENV, AsyncWriterClient, Writer

T0 = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)


def _event(key: str, openid: str = "o_a", minutes: int = 0, content: str = "在吗") -> NewEvent:
    return NewEvent("text", openid, T0 + timedelta(minutes=minutes), {"content": content}, "callback", key)


def _append(account, events):
    from django.db import transaction

    with transaction.atomic():
        inbox.append([(account.pk, e) for e in events], T0)


@pytest.mark.django_db(transaction=True)
def test_a_fold_stores_each_event_once_and_empties_the_inbox(make_account):
    account = make_account()
    # A WeChat retry in the inbox twice, and one whose first copy is in the log already.
    services.append_events(account.pk, [_event("k0", minutes=0)])
    _append(account, [_event("k1", minutes=1), _event("k1", minutes=1), _event("k0", minutes=0),
                      _event("k2", "o_b", minutes=2)])
    assert inbox.waiting() == 4
    assert inbox.fold_all() == 4
    assert inbox.waiting() == 0
    assert sorted(Event.objects.values_list("dedup_key", flat=True)) == ["k0", "k1", "k2"]
    a = Follower.objects.get(openid="o_a")
    assert a.last_interaction_at == T0 + timedelta(minutes=1)
    # The event keeps the time the callback reached fencun, not the time of the fold.
    assert Event.objects.get(dedup_key="k1").received_at == T0
    assert inbox.fold_all() == 0


@pytest.mark.django_db(transaction=True)
def test_a_fold_that_dies_leaves_every_row_for_the_next(make_account, monkeypatch):
    account = make_account()
    other = make_account(app_id="wx_other_account")
    _append(account, [_event("k1")])
    _append(other, [_event("k2", "o_b")])
    real = services.append_events
    calls = []

    def dies_on_the_second_account(account_id, events, **kw):
        calls.append(account_id)
        if len(calls) == 2:
            raise RuntimeError("killed mid-fold")
        return real(account_id, events, **kw)

    monkeypatch.setattr(inbox, "append_events", dies_on_the_second_account)
    with pytest.raises(RuntimeError):
        inbox._fold(10)
    assert inbox.waiting() == 2 and Event.objects.count() == 0
    monkeypatch.setattr(inbox, "append_events", real)
    assert inbox.fold_all() == 2
    assert Event.objects.count() == 2 and inbox.waiting() == 0


@pytest.mark.django_db(transaction=True)
def test_a_row_the_log_refuses_stays_and_holds_back_no_other(make_account, monkeypatch, caplog):
    account = make_account()
    _append(account, [_event("good1"), _event("bad", "o_bad"), _event("good2", minutes=1)])
    real = services.append_events

    def refuses_one(account_id, events, **kw):
        if any(e.openid == "o_bad" for e in events):
            from django.db import DatabaseError

            raise DatabaseError("value too long")
        return real(account_id, events, **kw)

    monkeypatch.setattr(inbox, "append_events", refuses_one)
    assert inbox.fold() == 2
    assert sorted(Event.objects.values_list("dedup_key", flat=True)) == ["good1", "good2"]
    assert list(InboxEvent.objects.values_list("dedup_key", flat=True)) == ["bad"]
    assert "could not be folded" in caplog.text


@pytest.mark.django_db(transaction=True)
def test_the_workers_periodic_fold_empties_the_inbox(make_account):
    account = make_account()
    _append(account, [_event(f"k{i}", minutes=i) for i in range(3)])
    fold_inbox_tick.call_local()
    assert inbox.waiting() == 0 and Event.objects.count() == 3


def test_the_fold_policy_answers_after_the_fold_only_while_quiet():
    folds = inbox.FoldPolicy()
    folds.arrived(5)
    assert folds.quiet  # a test, a shop at night: folded before answering
    for _ in range(20):
        folds.arrived(50)
    assert not folds.quiet  # a burst: answered at once, folded in its share of time


def _socket_path(name: str) -> str:
    # A short directory: a Unix socket's path may not pass 108 bytes, and tmp_path can.
    return os.path.join(tempfile.mkdtemp(prefix="fw-"), name)


@pytest.fixture
def writer(transactional_db):
    """A writer process's loop, run in a thread of this process (same test database)."""
    path = _socket_path("w.sock")
    box = Writer(path)
    thread = threading.Thread(target=box.serve_forever, daemon=True)
    thread.start()
    yield path, box
    box.stopping.set()
    thread.join(timeout=10)


def test_the_writer_stores_what_it_answers_and_folds_it_when_quiet(writer, make_account):
    path, _ = writer
    account = make_account()

    async def send():
        client = AsyncWriterClient(path)
        await asyncio.gather(*(client.store(account.pk, _event(f"w{i}", minutes=i), 5.0) for i in range(3)))

    asyncio.run(send())
    assert sorted(Event.objects.values_list("dedup_key", flat=True)) == ["w0", "w1", "w2"]
    assert inbox.waiting() == 0


def test_the_writer_drops_a_malformed_connection_and_serves_the_others(writer, make_account):
    path, _ = writer
    account = make_account()
    for junk in (b"nope!", b"42", b"[]"):  # not JSON; JSON but not a request
        with socket.socket(socket.AF_UNIX) as bad:
            bad.connect(path)
            bad.sendall(struct.pack("!I", len(junk)) + junk)
            bad.settimeout(5)
            assert bad.recv(10) == b""  # closed, nothing answered
    asyncio.run(AsyncWriterClient(path).store(account.pk, _event("after"), 5.0))
    assert Event.objects.filter(dedup_key="after").exists()


def test_without_a_writer_the_callback_is_stored_in_process(transactional_db, make_account, monkeypatch):
    account = make_account()
    monkeypatch.setenv(SOCKET_ENV, _socket_path("nobody-listens.sock"))
    fields = message("o_alone", MsgType="text", Content="在吗", MsgId=9)
    incoming = normalize({k: str(v) for k, v in fields.items()})  # as parsed from XML
    committer = GroupCommitter()
    asyncio.run(committer.store_async(account, incoming, 5.0))
    assert Event.objects.filter(openid="o_alone").count() == 1


def test_a_writer_that_goes_away_fails_its_waiting_callbacks():
    path = _socket_path("gone.sock")
    listener = socket.socket(socket.AF_UNIX)
    listener.bind(path)
    listener.listen(1)

    def accept_and_die():
        conn, _ = listener.accept()
        conn.recv(1 << 16)  # takes the request, then dies without answering
        conn.close()

    threading.Thread(target=accept_and_die, daemon=True).start()
    with pytest.raises(ConnectionError):
        asyncio.run(AsyncWriterClient(path).store(1, _event("lost"), 5.0))
    listener.close()
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)

