"""Typed errors of the callback protocol; each maps to one HTTP status at the gateway."""


class ProtocolError(Exception):
    """Base class. ``status`` is the HTTP status the gateway answers with."""

    status = 400


class BadSignature(ProtocolError):
    status = 403


class StaleTimestamp(ProtocolError):
    status = 403


class DowngradeRefused(ProtocolError):
    """A safe-mode account received a message without encryption."""

    status = 403


class BadCiphertext(ProtocolError):
    status = 400


class WrongAppId(ProtocolError):
    status = 400


class MalformedXml(ProtocolError):
    status = 400


class PayloadTooLarge(ProtocolError):
    status = 413
