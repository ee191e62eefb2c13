"""One process of the token single-holder test: wait for the start time, call the API."""

from __future__ import annotations

import sys
import time

from fencun.datadir import setup_django


def main(api_base: str, app_id: str, secret: str, start_at: float, store: str) -> None:
    setup_django()
    from fencun.channels.wechat.client import WeChatClient
    from fencun.channels.wechat.tokens import DatabaseTokenStore, RedisTokenStore

    tokens = RedisTokenStore(store) if store.startswith("redis") else DatabaseTokenStore()
    client = WeChatClient(app_id, secret, api_base=api_base, token_store=tokens)
    time.sleep(max(0.0, start_at - time.time()))
    client.list_tags()
    print(client.access_token())


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4]), sys.argv[5])
