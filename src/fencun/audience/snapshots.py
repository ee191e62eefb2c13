"""The follower-state snapshot: the engine's columnar state of an account, kept on disk.

Planning used to replay the whole event log into a :class:`FollowerState` on every plan,
so a plan's cost grew with the history. The snapshot keeps the folded state instead; a
plan loads it and folds only what arrived since (see ``campaigns/followerstate.py``).

Storage: one ``.npz`` file per snapshot in ``<data dir>/snapshots/`` (the arrays of
:meth:`FollowerState.to_arrays` plus the horizon below), and one
:class:`~fencun.audience.models.FollowerStateSnapshot` row saying what it holds. Files
are written under a temporary name and renamed, so a reader sees a whole file or none;
the row is written after the file, and older rows and files of the account are removed
after it. The snapshot is a cache of the log: losing it costs a rebuild, never data.

The horizon says what has been folded: events by primary key (``events_through``), and
sent outbox rows, campaigns whose randomized controls were replayed and WeCom dispatches
counted as pushes elsewhere as sets of primary keys (rows become *sent* in any order).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
from django.conf import settings

from fencun.accounts.models import Account
from fencun.audience.models import Event, FollowerStateSnapshot
from fencun.engine.catalog import Category
from fencun.engine.state import FollowerState

SNAPSHOT_DIR = "snapshots"
FORMAT = 4  # bumped when the file's layout or the fold's meaning changes: old files are rebuilt


@dataclass
class Horizon:
    """What a state has folded (see the module docstring)."""

    events_through: int = 0
    outbox: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    controls: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    dispatches: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    #: engine campaign id -> fingerprint of its category and products when registered
    campaigns: dict[str, str] = field(default_factory=dict)
    #: product id (sku) -> category id when registered
    products: dict[str, str] = field(default_factory=dict)


def config_key(
    categories: Sequence[Category], stores: Sequence[tuple[float, float]], datum: str
) -> str:
    """A hash of what the whole fold depends on: categories (and their keywords, which
    place texts and clicks), stores (distances) and the datum. Another key: rebuild."""
    doc = json.dumps(
        [
            FORMAT,
            [[c.id, c.name, list(c.keywords)] for c in categories],
            [list(s) for s in stores],
            datum,
        ],
        ensure_ascii=False,
    )
    return hashlib.sha256(doc.encode("utf-8")).hexdigest()


def _root() -> Path:
    root = Path(settings.DATA_DIR) / SNAPSHOT_DIR
    root.mkdir(mode=0o700, parents=True, exist_ok=True)
    return root


def load(account: Account, config: str) -> tuple[FollowerState, Horizon] | None:
    """The latest snapshot of ``account`` made for ``config``, or None (none yet, another
    configuration, or its file gone)."""
    for row in FollowerStateSnapshot.objects.filter(account=account).order_by(
        "-events_through", "-pk"
    )[:3]:
        if row.config != config:
            return None
        try:
            with np.load(_root() / row.path) as npz:
                arrays = {name: npz[name] for name in npz.files}
        except (FileNotFoundError, OSError, ValueError):
            continue  # removed by a newer save, or not on this machine: try the next
        return _split(arrays, row.events_through)
    return None


def _split(arrays: dict[str, np.ndarray], events_through: int) -> tuple[FollowerState, Horizon]:
    horizon = Horizon(
        events_through=events_through,
        outbox=arrays.pop("h_outbox"),
        controls=arrays.pop("h_controls"),
        dispatches=arrays.pop("h_dispatches"),
        campaigns=json.loads(bytes(arrays.pop("h_campaigns")).decode("utf-8")),
        products=json.loads(bytes(arrays.pop("h_products")).decode("utf-8")),
    )
    return FollowerState.from_arrays(arrays), horizon


def save(
    account: Account, state: FollowerState, horizon: Horizon, config: str
) -> FollowerStateSnapshot:
    """Write ``state`` folded through ``horizon`` as the account's latest snapshot; older
    snapshots of the account are removed."""
    root = _root()
    name = f"account{account.pk}-{horizon.events_through}-{uuid.uuid4().hex[:12]}.npz"
    arrays: dict[str, Any] = dict(state.to_arrays())
    arrays.update(
        h_outbox=np.asarray(horizon.outbox, np.int64),
        h_controls=np.asarray(horizon.controls, np.int64),
        h_dispatches=np.asarray(horizon.dispatches, np.int64),
        h_campaigns=np.frombuffer(json.dumps(horizon.campaigns).encode("utf-8"), np.uint8),
        h_products=np.frombuffer(json.dumps(horizon.products).encode("utf-8"), np.uint8),
    )
    tmp = root / (name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        np.savez(fh, **arrays)
    os.replace(tmp, root / name)
    row = FollowerStateSnapshot.objects.create(
        account=account,
        events_through=horizon.events_through,
        config=config,
        followers=state.n,
        path=name,
    )
    for old in FollowerStateSnapshot.objects.filter(account=account).exclude(pk=row.pk):
        with contextlib.suppress(FileNotFoundError):
            (root / old.path).unlink()
        old.delete()
    return row


def discard(account: Account) -> None:
    """Forget the account's snapshots (the next plan rebuilds from the log)."""
    root = _root()
    for old in FollowerStateSnapshot.objects.filter(account=account):
        with contextlib.suppress(FileNotFoundError):
            (root / old.path).unlink()
        old.delete()


EventRow = tuple[str, str, datetime, Any]


def last_event_pk(account: Account, received_before: datetime | None = None) -> int:
    """The largest Event pk of the account (received before ``received_before``), 0 if none."""
    rows = Event.objects.filter(account=account)
    if received_before is not None:
        rows = rows.filter(received_at__lt=received_before)
    return int(rows.order_by("-pk").values_list("pk", flat=True).first() or 0)


def events_in_time_order(account: Account, through: int, chunk: int = 20_000) -> Iterator[EventRow]:
    """The account's events up to pk ``through`` as (kind, openid, occurred_at, payload), by
    time then pk: a rebuild's stream, read in chunks, never held whole."""
    return (
        Event.objects.filter(account=account, pk__lte=through)
        .exclude(openid="")
        .order_by("occurred_at", "pk")
        .values_list("kind", "openid", "occurred_at", "payload")
        .iterator(chunk_size=chunk)
    )


def events_since(account: Account, after: int, through: int) -> list[EventRow]:
    """The account's events with ``after < pk <= through``, in arrival (pk) order."""
    return list(
        Event.objects.filter(account=account, pk__gt=after, pk__lte=through)
        .exclude(openid="")
        .order_by("pk")
        .values_list("kind", "openid", "occurred_at", "payload")
    )
