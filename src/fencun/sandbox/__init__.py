"""``fencun sandbox``: a local WeChat Official Account platform speaking the real protocol.

Standalone by design: no Django, and nothing shared with the product's client or gateway
except the callback crypto and signature primitives (``fencun.protocol.crypto`` and
``fencun.protocol.signatures``), so it checks the product instead of mirroring its bugs.
Start it in-process with :class:`fencun.sandbox.server.Sandbox`.
"""
