"""Rotating FENCUN_SECRET_KEY: every stored secret re-sealed under the new key, or none."""

from __future__ import annotations

import pytest
from django.test import override_settings
from django.utils import translation
from tests.accounts.stored_secrets import ALL_SECRETS, raw_rows, write_raw

from fencun import sealing
from fencun.accounts import rekey
from fencun.accounts.models import AccessTokenLease, Account
from fencun.channels.models import WecomCorp

OLD, NEW = "the-old-secret-key-0123456789", "the-new-secret-key-9876543210"


@pytest.fixture
def sealed_under_old(db):
    with override_settings(SECRET_KEY=OLD, SECRET_KEY_FALLBACKS=[]):
        account = Account.objects.create(
            app_id="wx-rot", app_secret=ALL_SECRETS[0], token=ALL_SECRETS[1], aes_key=ALL_SECRETS[2]
        )
        corp = WecomCorp.objects.create(
            account=account, corp_id="ww-rot", secret=ALL_SECRETS[3], token=ALL_SECRETS[4], aes_key=ALL_SECRETS[5]
        )
        AccessTokenLease.objects.create(app_id="wx-rot", value=ALL_SECRETS[6], expires_at=4e9)
    return account, corp


def opened() -> tuple[str, ...]:
    account = Account.objects.get(app_id="wx-rot")
    corp = WecomCorp.objects.get(corp_id="ww-rot")
    lease = AccessTokenLease.objects.get(app_id="wx-rot")
    return tuple(
        s.reveal() for s in (account.app_secret, account.token, account.aes_key, corp.secret, corp.token, corp.aes_key, lease.value)
    )


def test_rotate_with_the_old_key_reseals_everything_under_the_new_one(sealed_under_old):
    before = raw_rows()
    with override_settings(SECRET_KEY=NEW, SECRET_KEY_FALLBACKS=[]):
        report = rekey.rotate([OLD])
        assert report.changed == len(ALL_SECRETS)
        assert sum(f.resealed for f in report.fields) == len(ALL_SECRETS)
    after = raw_rows()
    assert all(text.startswith(sealing.PREFIX) for text in after)
    assert not set(after) & set(before)
    assert not any(secret in text for text in after for secret in ALL_SECRETS)
    with override_settings(SECRET_KEY=NEW, SECRET_KEY_FALLBACKS=[]):  # the old key no longer needed
        assert opened() == ALL_SECRETS
    with override_settings(SECRET_KEY=OLD, SECRET_KEY_FALLBACKS=[]), pytest.raises(sealing.SecretUnreadable):
        Account.objects.get(app_id="wx-rot").app_secret.reveal()


def test_the_old_key_may_come_from_the_fallbacks(sealed_under_old):
    with override_settings(SECRET_KEY=NEW, SECRET_KEY_FALLBACKS=[OLD]):
        assert rekey.rotate().changed == len(ALL_SECRETS)
    with override_settings(SECRET_KEY=NEW, SECRET_KEY_FALLBACKS=[]):
        assert opened() == ALL_SECRETS


def test_rotate_with_a_wrong_old_key_refuses_and_changes_nothing(sealed_under_old):
    before = raw_rows()
    with (
        override_settings(SECRET_KEY=NEW, SECRET_KEY_FALLBACKS=["not-the-old-key"]),
        translation.override("en"),
        pytest.raises(rekey.RotationRefused) as refused,
    ):
        rekey.rotate(["also-wrong"])
    assert "Account.app_secret" in str(refused.value) and "Nothing was changed" in str(refused.value)
    assert len(refused.value.unreadable) == 6  # the access token alone would have been cleared
    assert not any(key in str(refused.value) for key in (OLD, NEW, "also-wrong"))
    assert raw_rows() == before
    with override_settings(SECRET_KEY=OLD, SECRET_KEY_FALLBACKS=[]):
        assert opened() == ALL_SECRETS


def test_a_second_rotate_finds_everything_current(sealed_under_old):
    with override_settings(SECRET_KEY=NEW, SECRET_KEY_FALLBACKS=[]):
        rekey.rotate([OLD])
        before = raw_rows()
        report = rekey.rotate()
    assert report.changed == 0 and sum(f.current for f in report.fields) == len(ALL_SECRETS)
    assert raw_rows() == before


def test_rotate_seals_plain_rows_and_clears_access_tokens_no_key_opens(sealed_under_old):
    account, _ = sealed_under_old
    write_raw(Account, account.pk, app_secret=ALL_SECRETS[0])  # as stored before sealing
    AccessTokenLease.objects.filter(app_id="wx-rot").update(value=sealing.seal("lost", sealing.keyring("gone", [])))
    with override_settings(SECRET_KEY=NEW, SECRET_KEY_FALLBACKS=[OLD]):
        report = rekey.rotate()
    counts = {f.label: f for f in report.fields}
    assert counts["Account.app_secret"].sealed_plain == 1
    assert counts["AccessTokenLease.value"].cleared == 1
    lease = AccessTokenLease.objects.get(app_id="wx-rot")
    assert not lease.value and lease.expires_at == 0
    with override_settings(SECRET_KEY=NEW, SECRET_KEY_FALLBACKS=[]):
        assert Account.objects.get(pk=account.pk).app_secret.reveal() == ALL_SECRETS[0]
    assert ALL_SECRETS[0] not in raw_rows()
