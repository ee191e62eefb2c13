"""``fencun sandbox``: a local WeChat Official Account platform speaking the real protocol.

Standalone by design: no Django, and nothing shared with the product's client or gateway
except the callback crypto and signature primitives (``fencun.protocol.crypto`` and
``fencun.protocol.signatures``), so it checks the product instead of mirroring its bugs.
Start it in-process with :class:`fencun.sandbox.server.Sandbox`::

    with Sandbox(followers=1000, account_type="service", callback_url=url) as box:
        client = WeChatClient(box.config.app_id, box.config.app_secret, api_base=box.api_base)
        ...
        box.flush()                                # mass jobs and callbacks are done
        box.deliveries(kind="mass", msg_id=msg_id)  # who received what (one dict each)
        box.set_faults([{"path": "/cgi-bin/user/get", "errcode": -1, "times": 2}])

From tests, use the pytest fixtures in :mod:`fencun.sandbox.fixtures`; over HTTP, the
``/sandbox/...`` admin endpoints listed in :mod:`fencun.sandbox.server`; from a shell,
``fencun sandbox --port P``.
"""
