"""Secrets at rest: what the database holds is sealed, what the code uses is the secret.

Runs on the configured database (SQLite, or PostgreSQL with ``DATABASE_URL``).
"""

from __future__ import annotations

import importlib
import io
import logging
import pickle
from types import SimpleNamespace
from urllib.parse import urlencode

import pytest
from django.core.management import call_command
from django.db import connection
from django.db.migrations.loader import MigrationLoader
from django.test import override_settings
from tests.accounts.stored_secrets import (
    ACCESS_TOKEN,
    AES_KEY,
    ALL_SECRETS,
    APP_SECRET,
    CORP_AES_KEY,
    CORP_SECRET,
    CORP_TOKEN,
    TOKEN,
    raw_rows,
    write_raw,
)
from tests.conftest import message

from fencun import sealing
from fencun.accounts.models import AccessTokenLease, Account
from fencun.channels.models import WecomCorp
from fencun.channels.wechat.tokens import DatabaseTokenStore
from fencun.logredact import RedactSecrets


@pytest.fixture
def stored(db):
    account = Account.objects.create(
        app_id="wx-sealed", app_secret=APP_SECRET, token=TOKEN, aes_key=AES_KEY, mode="safe"
    )
    corp = WecomCorp.objects.create(
        account=account, corp_id="ww-sealed", secret=CORP_SECRET, token=CORP_TOKEN, aes_key=CORP_AES_KEY
    )
    lease = AccessTokenLease.objects.create(app_id="wx-sealed", value=ACCESS_TOKEN, expires_at=4e9)
    return account, corp, lease


def test_the_database_holds_no_secret_in_plain_text(stored):
    raw = raw_rows()
    assert len(raw) == len(ALL_SECRETS)
    for text in raw:
        assert text.startswith(sealing.PREFIX)
        for secret in ALL_SECRETS:
            assert secret not in text


def test_secrets_read_back_from_the_database_open_to_what_was_stored(stored):
    account = Account.objects.get(app_id="wx-sealed")
    corp = WecomCorp.objects.get(corp_id="ww-sealed")
    assert (account.app_secret.reveal(), account.token.reveal(), account.aes_key.reveal()) == (
        APP_SECRET, TOKEN, AES_KEY,
    )
    assert (corp.secret.reveal(), corp.token.reveal(), corp.aes_key.reveal()) == (
        CORP_SECRET, CORP_TOKEN, CORP_AES_KEY,
    )
    assert DatabaseTokenStore().current("wx-sealed").value == ACCESS_TOKEN


def test_two_rows_with_one_secret_store_different_text(db):
    one = Account.objects.create(app_id="wx-a", token=TOKEN)
    two = Account.objects.create(app_id="wx-b", token=TOKEN)
    assert one.token == TOKEN and two.token == TOKEN
    assert len({text for text in raw_rows() if text}) == 2  # randomised: no equal ciphertexts


def test_a_sealed_secret_shows_only_that_it_is_set(stored):
    account = Account.objects.get(app_id="wx-sealed")
    for shown in (str(account.app_secret), repr(account.app_secret), f"{account.aes_key}", repr(account)):
        assert APP_SECRET not in shown and AES_KEY not in shown
    assert str(account.app_secret) == sealing.MASK
    assert account.app_secret.masked() == sealing.MASK + APP_SECRET[-4:]
    assert sealing.mask("short") == sealing.MASK  # too short to show any of it
    assert str(Account(app_id="wx-none").app_secret) == ""


def test_empty_secrets_stay_empty_and_can_be_queried(db):
    Account.objects.create(app_id="wx-empty", token=TOKEN)
    account = Account.objects.get(app_id="wx-empty")
    assert not account.app_secret and account.app_secret == ""
    assert Account.objects.filter(app_secret="").count() == 1


def test_a_plain_row_from_before_sealing_opens_and_is_sealed_on_its_next_save(stored):
    account, _, _ = stored
    write_raw(Account, account.pk, app_secret=APP_SECRET, token=TOKEN)
    legacy = Account.objects.get(pk=account.pk)
    assert legacy.app_secret.is_legacy
    assert legacy.app_secret.reveal() == APP_SECRET and legacy.token.reveal() == TOKEN
    legacy.name = "renamed"
    legacy.save()
    assert all(text.startswith(sealing.PREFIX) for text in raw_rows())
    assert Account.objects.get(pk=account.pk).app_secret.reveal() == APP_SECRET


def test_the_migration_seals_plain_rows_and_a_second_run_changes_nothing(stored):
    account, corp, lease = stored
    write_raw(Account, account.pk, app_secret=APP_SECRET, token=TOKEN, aes_key=AES_KEY)
    write_raw(WecomCorp, corp.pk, secret=CORP_SECRET, token=CORP_TOKEN, aes_key=CORP_AES_KEY)
    write_raw(AccessTokenLease, lease.pk, value=ACCESS_TOKEN)
    Account.objects.create(app_id="wx-blank", token=TOKEN)  # its blank secrets stay blank
    migration = importlib.import_module("fencun.channels.migrations.0008_seal_plain_secrets")
    editor = SimpleNamespace(connection=connection, quote_name=connection.ops.quote_name)
    # The models as the migration knew them (they have moved to ``accounts`` since).
    then = MigrationLoader(connection).project_state(("channels", "0008_seal_plain_secrets")).apps

    migration.seal_plain(then, editor)
    first = raw_rows()
    assert [t for t in first if t] and all(t.startswith(sealing.PREFIX) for t in first if t)
    assert "" in first
    assert not any(secret in text for text in first for secret in ALL_SECRETS)
    migration.seal_plain(then, editor)
    assert raw_rows() == first  # already sealed: left alone

    assert Account.objects.get(pk=account.pk).aes_key.reveal() == AES_KEY
    assert WecomCorp.objects.get(pk=corp.pk).secret.reveal() == CORP_SECRET
    migration.unseal_all(then, editor)  # the reverse: plain text again
    assert set(ALL_SECRETS) <= set(raw_rows())


def test_secrets_sealed_under_another_key_do_not_open_and_say_why(stored):
    with override_settings(SECRET_KEY="another-key-entirely", SECRET_KEY_FALLBACKS=[]):
        account = Account.objects.get(app_id="wx-sealed")
        with pytest.raises(sealing.SecretUnreadable, match="FENCUN_SECRET_KEY_FALLBACKS"):
            account.app_secret.reveal()
        assert account.app_secret.masked() == sealing.MASK
        # An access token no key opens is as good as none: it is fetched again.
        assert not DatabaseTokenStore().current("wx-sealed").usable(0)


def test_an_earlier_key_in_the_fallbacks_still_opens(stored, settings):
    old = settings.SECRET_KEY
    with override_settings(SECRET_KEY="the-new-key", SECRET_KEY_FALLBACKS=[old]):
        assert Account.objects.get(app_id="wx-sealed").aes_key.reveal() == AES_KEY


def test_pickles_and_dumps_hold_the_sealed_text(stored):
    account = Account.objects.get(app_id="wx-sealed")
    account.app_secret.reveal()
    assert APP_SECRET.encode() not in pickle.dumps(account)
    assert pickle.loads(pickle.dumps(account)).app_secret.reveal() == APP_SECRET  # noqa: S301 - our own bytes
    fresh = Account(app_id="wx-fresh", app_secret=APP_SECRET)  # never saved, held in plain
    assert APP_SECRET.encode() not in pickle.dumps(fresh)
    out = io.StringIO()
    call_command("dumpdata", "accounts.account", "channels.wecomcorp", "accounts.accesstokenlease", stdout=out)
    assert not any(secret in out.getvalue() for secret in ALL_SECRETS)
    assert sealing.PREFIX in out.getvalue()


def test_a_secret_once_opened_is_masked_in_log_lines(stored):
    account = Account.objects.get(app_id="wx-sealed")
    corp = WecomCorp.objects.get(corp_id="ww-sealed")
    account.app_secret.reveal()
    corp.secret.reveal()
    record = logging.LogRecord("x", logging.ERROR, __file__, 1, "failed with %s and %s", (APP_SECRET, CORP_SECRET), None)
    RedactSecrets().filter(record)
    assert APP_SECRET not in record.getMessage() and CORP_SECRET not in record.getMessage()


def test_keys_and_tokens_from_the_environment_are_masked_in_log_lines(monkeypatch):
    from fencun.logredact import redact

    monkeypatch.setenv("FENCUN_SECRET_KEY_FALLBACKS", "first-old-key-123,second-old-key-456")
    monkeypatch.setenv("WEIBO_ACCESS_TOKEN", "2.00weibo-access-token")
    line = redact("keys first-old-key-123 second-old-key-456 token 2.00weibo-access-token")
    assert line == "keys *** *** token ***"


def test_the_token_fetch_uses_the_opened_secret_and_stores_the_token_sealed(db, sandbox):
    from fencun.channels.services import wechat_client

    box = sandbox.config
    Account.objects.create(app_id=box.app_id, app_secret=box.app_secret, token=box.token)
    account = Account.objects.get(app_id=box.app_id)
    with wechat_client(account, api_base=sandbox.api_base, token_store=DatabaseTokenStore()) as client:
        assert client.list_tags() is not None  # the sandbox took the AppSecret
    token = DatabaseTokenStore().current(box.app_id)
    assert token is not None and token.value
    raw = raw_rows()
    assert not any(token.value in text or box.app_secret in text for text in raw)


def test_an_unreadable_secret_is_a_channel_error_that_pauses_rather_than_crashes(stored):
    from fencun.channels.services import wechat_client
    from fencun.channels.wechat.errors import ChannelError, CredentialUnreadable

    with override_settings(SECRET_KEY="another-key-entirely", SECRET_KEY_FALLBACKS=[]):
        account = Account.objects.get(app_id="wx-sealed")
        with pytest.raises(CredentialUnreadable) as caught:
            wechat_client(account, api_base="http://127.0.0.1:9")
    assert isinstance(caught.value, ChannelError) and isinstance(caught.value, ValueError)
    assert APP_SECRET not in str(caught.value)


def test_an_unreadable_callback_token_is_answered_503_without_a_traceback(stored, client, signer, caplog):
    account, _, _ = stored
    Account.objects.filter(pk=account.pk).update(app_id="wx-cb")
    query, body = signer.safe(message(MsgType="text", Content="hi", MsgId="1"))
    with override_settings(SECRET_KEY="another-key-entirely", SECRET_KEY_FALLBACKS=[]):
        r = client.post(f"/wechat/callback/wx-cb?{urlencode(query)}", data=body, content_type="text/xml")
    assert r.status_code == 503
    assert b"SecretUnreadable" in r.content
    assert "Traceback" not in caplog.text and "FENCUN_SECRET_KEY_FALLBACKS" in caplog.text


def test_a_campaign_whose_appsecret_no_key_opens_pauses_with_the_reason(db, make_sandbox):
    from fencun.campaigns import delivery
    from fencun.campaigns.models import Campaign, OutboxItem
    from fencun.campaigns.seeding import ready_campaign, seed_account

    box = make_sandbox(account_type="service", followers=5)
    account = seed_account(box)
    campaign = ready_campaign(account)
    lost = sealing.seal(box.config.app_secret, sealing.keyring("a-key-since-lost", []))
    Account.objects.filter(pk=account.pk).update(app_secret=lost)
    delivery.run_scheduler("s")
    delivery.work("w", max_items=5)
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.PAUSED
    assert "FENCUN_SECRET_KEY" in campaign.pause_reason
    assert not OutboxItem.objects.filter(campaign=campaign, status="sent").exists()
    assert box.state()["token_fetches"] == 0


@pytest.mark.parametrize(("engine", "key", "warned"), [
    ("django.db.backends.postgresql", None, True),
    ("django.db.backends.postgresql", "set-everywhere", False),
    ("django.db.backends.sqlite3", None, False),
])
def test_the_deploy_check_asks_for_one_key_when_the_database_is_shared(monkeypatch, settings, engine, key, warned):
    from django.core.checks import run_checks

    monkeypatch.setitem(settings.DATABASES["default"], "ENGINE", engine)
    if key is None:
        monkeypatch.delenv("FENCUN_SECRET_KEY", raising=False)
    else:
        monkeypatch.setenv("FENCUN_SECRET_KEY", key)
    ids = {m.id for m in run_checks(include_deployment_checks=True)}
    assert ("fencun.W001" in ids) is warned


def test_broadcast_posts_of_a_corp_whose_secret_no_key_opens_wait_with_a_warning(stored, caplog):
    from fencun.channels.tasks import post_due_broadcasts

    _, corp, _ = stored
    lost = sealing.seal(CORP_SECRET, sealing.keyring("a-key-since-lost", []))
    WecomCorp.objects.filter(pk=corp.pk).update(secret=lost)
    with caplog.at_level(logging.WARNING):
        assert post_due_broadcasts() == 0
    assert "ww-sealed" in caplog.text and "FENCUN_SECRET_KEY" in caplog.text
    assert "Traceback" not in caplog.text
