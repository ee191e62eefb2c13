"""The WeChat callback protocol: signatures, message crypto and XML. Pure, no Django.

The sandbox and the gateway both build on these primitives and on nothing else shared,
so the sandbox checks the gateway instead of mirroring its bugs.
"""
