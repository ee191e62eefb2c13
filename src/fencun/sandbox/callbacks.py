"""Posting events to the product's callback URL exactly as WeChat does.

Query: ``signature`` (sha1 of token, timestamp, nonce), ``timestamp``, ``nonce``,
``openid``; in compatible and safe mode also ``encrypt_type=aes`` and ``msg_signature``
(sha1 of token, timestamp, nonce, Encrypt). Safe mode posts ``<xml><ToUserName/><Encrypt/>
</xml>``; compatible mode posts the plaintext fields plus ``Encrypt``. A post that fails or
takes longer than 5 s is retried 3 times, as WeChat does.
"""

from __future__ import annotations

import logging
import queue
import random
import secrets
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from fencun.protocol.crypto import MessageCrypto
from fencun.protocol.signatures import sign

log = logging.getLogger(__name__)

#: WeChat waits this long for an answer before retrying.
REPLY_SECONDS = 5.0
RETRIES = 3


def _cdata(value: str) -> str:
    return "<![CDATA[" + value.replace("]]>", "]]]]><![CDATA[>") + "]]>"


def to_xml(fields: dict[str, Any]) -> str:
    """WeChat's callback XML: numbers bare, text in CDATA, dicts nested, a list as the
    element repeated (PUBLISHJOBFINISH's ``fail_idx``)."""
    parts = ["<xml>"]

    def put(name: str, value: Any) -> None:
        if isinstance(value, bool):
            value = int(value)
        if isinstance(value, int | float):
            parts.append(f"<{name}>{value}</{name}>")
        elif isinstance(value, dict):
            parts.append(f"<{name}>")
            for k, v in value.items():
                put(k, v)
            parts.append(f"</{name}>")
        elif isinstance(value, list):
            for item in value:
                put(name, item)
        else:
            parts.append(f"<{name}>{_cdata(str(value))}</{name}>")

    for key, value in fields.items():
        put(key, value)
    parts.append("</xml>")
    return "".join(parts)


@dataclass
class CallbackFaults:
    """Drop or duplicate callbacks: the next ``drop``/``duplicate`` ones, or at a rate."""

    drop: int = 0
    duplicate: int = 0
    drop_rate: float = 0.0
    duplicate_rate: float = 0.0


@dataclass
class CallbackRecord:
    """One callback as the sandbox handled it."""

    seq: int
    kind: str
    openid: str
    create_time: int
    outcome: str = "pending"  # delivered | failed | dropped
    status: int | None = None
    attempts: int = 0
    copies: int = 1
    fields: dict[str, Any] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "kind": self.kind,
            "openid": self.openid,
            "create_time": self.create_time,
            "outcome": self.outcome,
            "status": self.status,
            "attempts": self.attempts,
            "copies": self.copies,
            "fields": self.fields,
        }


class CallbackPoster:
    """A background sender of callbacks to one URL, in order, with WeChat's retries."""

    def __init__(
        self,
        url: str | None,
        *,
        token: str,
        app_id: str,
        aes_key: str,
        mode: str,
        now: Any,
        rng: random.Random,
    ) -> None:
        if url and not url.startswith(("http://", "https://")):
            raise ValueError("the callback URL must be http(s)")
        self.url = url
        self.token = token
        self.mode = mode
        self.crypto = MessageCrypto(aes_key, app_id) if mode in ("compatible", "safe") else None
        self.faults = CallbackFaults()
        self.records: list[CallbackRecord] = []
        self._now = now
        self._rng = rng
        self._lock = threading.Lock()
        self._queue: queue.Queue[CallbackRecord | None] = queue.Queue()
        self._thread = threading.Thread(target=self._run, name="sandbox-callbacks", daemon=True)
        self._thread.start()

    def post(self, kind: str, openid: str, fields: dict[str, Any]) -> CallbackRecord:
        """Queue one callback (``fields`` are the XML fields, ToUserName first)."""
        with self._lock:
            record = CallbackRecord(
                len(self.records) + 1, kind, openid, int(fields.get("CreateTime", 0)), fields=fields
            )
            self.records.append(record)
        self._queue.put(record)
        return record

    def flush(self, timeout: float = 30.0) -> None:
        """Wait until every queued callback has been handled."""
        deadline = time.monotonic() + timeout
        while self._queue.unfinished_tasks and time.monotonic() < deadline:
            time.sleep(0.01)

    def stop(self) -> None:
        self._queue.put(None)

    def _decide(self) -> tuple[bool, int]:
        with self._lock:
            f = self.faults
            drop = False
            copies = 1
            if f.drop > 0:
                f.drop -= 1
                drop = True
            elif f.drop_rate and self._rng.random() < f.drop_rate:
                drop = True
            if not drop:
                if f.duplicate > 0:
                    f.duplicate -= 1
                    copies = 2
                elif f.duplicate_rate and self._rng.random() < f.duplicate_rate:
                    copies = 2
            return drop, copies

    def _run(self) -> None:
        while True:
            record = self._queue.get()
            try:
                if record is None:
                    return
                self._deliver(record)
            except Exception:  # a broken product must not stop the sandbox
                log.exception("callback %s failed", record.seq if record else "?")
            finally:
                self._queue.task_done()

    def _request(self, fields: dict[str, Any]) -> tuple[str, bytes]:
        timestamp = str(int(self._now()))
        nonce = str(secrets.randbelow(10**10))
        query = {
            "signature": sign(self.token, timestamp, nonce),
            "timestamp": timestamp,
            "nonce": nonce,
        }
        query["openid"] = str(fields.get("FromUserName", ""))
        plain = to_xml(fields)
        if self.crypto is None:
            body = plain
        else:
            encrypt = self.crypto.encrypt(plain)
            query["encrypt_type"] = "aes"
            query["msg_signature"] = sign(self.token, timestamp, nonce, encrypt)
            if self.mode == "safe":
                body = to_xml({"ToUserName": fields.get("ToUserName", ""), "Encrypt": encrypt})
            else:
                body = to_xml({**fields, "Encrypt": encrypt})
        separator = "&" if "?" in (self.url or "") else "?"
        return f"{self.url}{separator}{urlencode(query)}", body.encode("utf-8")

    def _deliver(self, record: CallbackRecord) -> None:
        if not self.url:
            record.outcome = "no-url"
            return
        drop, copies = self._decide()
        record.copies = copies
        if drop:
            record.outcome = "dropped"
            return
        url, body = self._request(record.fields)
        for _ in range(copies):
            record.outcome = "failed"
            for attempt in range(1 + RETRIES):
                record.attempts += 1
                try:
                    request = urllib.request.Request(  # noqa: S310 - http(s) checked in __init__
                        url,
                        data=body,
                        method="POST",
                        headers={"Content-Type": "text/xml; charset=utf-8"},
                    )
                    with urllib.request.urlopen(request, timeout=REPLY_SECONDS) as response:  # noqa: S310 - configured http(s) URL
                        response.read()
                        record.status = response.status
                    record.outcome = "delivered"
                    break
                except urllib.error.HTTPError as exc:
                    record.status = exc.code
                    if exc.code < 500:
                        break  # the product refused it; WeChat would not get a different answer
                except (OSError, TimeoutError):
                    record.status = None
                if attempt < RETRIES:
                    time.sleep(0.2 * (attempt + 1))
