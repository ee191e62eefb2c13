import pytest

from fencun.accounts.models import Account
from fencun.channels.services import wechat_client
from fencun.channels.wechat.tokens import MemoryTokenStore
from fencun.sandbox.fixtures import make_sandbox  # noqa: F401


@pytest.fixture
def connected(db, make_sandbox):  # noqa: F811 (the fixture imported above)
    """An account connected to a (verified) sandbox WeChat, and a client of it."""
    box = make_sandbox()
    account = Account.objects.create(
        app_id=box.config.app_id, app_secret=box.config.app_secret, token=box.config.token,
        aes_key=box.config.aes_key, mode=box.config.mode, account_type=box.config.account_type,
        is_default=True,
    )
    client = wechat_client(account, api_base=box.api_base, token_store=MemoryTokenStore(), backoff=0)
    yield account, client, box
    client.close()
