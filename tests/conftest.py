"""Shared fixtures: accounts, signed WeChat requests, the database flavour."""

from __future__ import annotations

import os
import secrets
import time

import hypothesis
import pytest

from fencun.protocol import xmlmsg
from fencun.protocol.crypto import MessageCrypto
from fencun.protocol.signatures import sign

# The command line speaks the machine's language (LANG, LC_ALL) unless told otherwise: the
# tests expect its default, 简体中文, on any machine, and name another where they test one.
os.environ["FENCUN_LANG"] = "zh-hans"

TOKEN = "fencuntesttoken"
AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
APP_ID = "wx0000000000000001"
OFFICIAL_ID = "gh_fencun_test"


#: The fault, fuzz and soak tests run at full size locally and smaller on CI (``CI=true``),
#: where they still take every path: ``sized(full, ci)``. ``FENCUN_TEST_SIZE=full`` (or
#: ``ci``) chooses either anywhere.
TEST_SIZE = os.environ.get("FENCUN_TEST_SIZE") or (
    "ci" if os.environ.get("CI", "").lower() == "true" else "full"
)
if TEST_SIZE not in ("full", "ci"):
    raise ValueError(f"FENCUN_TEST_SIZE must be full or ci, not {TEST_SIZE!r}")


def sized(full: int, ci: int) -> int:
    """``full`` locally, ``ci`` on CI: how many kills, recipients or examples a test takes."""
    return full if TEST_SIZE == "full" else ci


# Property tests that set no example count: Hypothesis's 100 locally, fewer on CI, on top
# of the profile Hypothesis chose for the place (its "ci" one when CI is set: no deadline,
# derandomised, no example database).
hypothesis.settings.register_profile("fencun", hypothesis.settings(), max_examples=sized(100, 30))
hypothesis.settings.load_profile("fencun")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The slow tests first, the longest first (``slow(seconds=…)``, roughly, on one core):
    in a parallel run they start at once, each on its own worker, rather than finishing
    the run alone."""

    def seconds(item: pytest.Item) -> float:
        marker = item.get_closest_marker("slow")
        return 0.0 if marker is None else float(marker.kwargs.get("seconds", 10))

    items.sort(key=seconds, reverse=True)


def is_postgres() -> bool:
    return os.environ.get("DATABASE_URL", "").startswith("postgres")


requires_postgres = pytest.mark.skipif(
    not is_postgres(), reason="needs PostgreSQL: set DATABASE_URL=postgresql://…"
)
#: A test whose processes run on a data dir of their own with the embedded queue, whatever
#: DATABASE_URL and FENCUN_QUEUE_URL say: the same test in either pass, so run once.
sqlite_pass_only = pytest.mark.skipif(
    bool(os.environ.get("DATABASE_URL")),
    reason="runs on its own SQLite data dir and embedded queue, as in the SQLite pass: run there",
)


@pytest.fixture(autouse=True)
def _fresh_caches():
    from django.utils import translation

    from fencun.gateway import replies, views

    replies.forget_cached_rules()
    views.forget_cached_accounts()
    yield
    replies.forget_cached_rules()
    views.forget_cached_accounts()
    # A request through the test client leaves its language active in this thread (the
    # locale middleware activates it and nothing resets it): the next test starts from
    # the default, as a new request does.
    translation.deactivate()


@pytest.fixture
def make_account(db):
    from fencun.accounts.models import Account

    def make(mode: str = "plaintext", account_type: str = "subscription", **extra):
        return Account.objects.create(
            app_id=extra.pop("app_id", APP_ID),
            token=TOKEN,
            aes_key=AES_KEY if mode != "plaintext" else extra.pop("aes_key", ""),
            mode=mode,
            account_type=account_type,
            is_default=True,
            **extra,
        )

    return make


class WeChatSigner:
    """Builds callback requests exactly as WeChat sends them."""

    def __init__(self, token: str = TOKEN, aes_key: str = AES_KEY, app_id: str = APP_ID) -> None:
        self.token = token
        self.crypto = MessageCrypto(aes_key, app_id)

    def plain(self, fields: dict, timestamp: int | None = None) -> tuple[dict, bytes]:
        ts, nonce = str(timestamp or int(time.time())), str(secrets.randbelow(10**9))
        query = {
            "signature": sign(self.token, ts, nonce),
            "timestamp": ts,
            "nonce": nonce,
            "openid": fields.get("FromUserName", ""),
        }
        return query, xmlmsg.build(fields).encode("utf-8")

    def safe(self, fields: dict, timestamp: int | None = None) -> tuple[dict, bytes]:
        ts, nonce = str(timestamp or int(time.time())), str(secrets.randbelow(10**9))
        encrypt = self.crypto.encrypt(xmlmsg.build(fields))
        query = {
            "signature": sign(self.token, ts, nonce),
            "timestamp": ts,
            "nonce": nonce,
            "openid": fields.get("FromUserName", ""),
            "encrypt_type": "aes",
            "msg_signature": sign(self.token, ts, nonce, encrypt),
        }
        body = xmlmsg.build({"ToUserName": OFFICIAL_ID, "Encrypt": encrypt}).encode("utf-8")
        return query, body


@pytest.fixture
def signer() -> WeChatSigner:
    return WeChatSigner()


def message(openid: str = "o_follower_1", **fields) -> dict:
    """A callback message; CreateTime now unless given."""
    base = {"ToUserName": OFFICIAL_ID, "FromUserName": openid, "CreateTime": int(time.time())}
    base.update(fields)
    return base
