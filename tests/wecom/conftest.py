"""WeCom fixtures: a corp in the database, signed callbacks, the WeCom sandbox."""

from __future__ import annotations

import pytest
from tests.wecom.factories import AES_KEY, CORP_ID, TOKEN, WeComSigner

from fencun.sandbox.fixtures import make_sandbox  # noqa: F401
from fencun.sandbox.wecom_fixtures import make_wecom_sandbox, wecom_client, wecom_sandbox  # noqa: F401


@pytest.fixture
def corp(make_account):
    from fencun.channels.models import WecomCorp

    return WecomCorp.objects.create(
        account=make_account(),
        corp_id=CORP_ID,
        secret="corp-secret-0123456789",
        token=TOKEN,
        aes_key=AES_KEY,
    )


@pytest.fixture
def wecom_signer() -> WeComSigner:
    return WeComSigner()
