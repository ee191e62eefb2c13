"""WeChat message encryption (WXBizMsgCrypt): AES-256-CBC on ``cryptography``.

Plaintext layout: 16 random bytes, 4-byte big-endian message length, message, appid;
PKCS#7-padded to 32-byte blocks. Key = base64(EncodingAESKey + "="), IV = key[:16].
"""

from __future__ import annotations

import base64
import binascii
import os
import struct

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from fencun.protocol.errors import BadCiphertext, WrongAppId

_BLOCK = 32


class MessageCrypto:
    """Encrypts and decrypts callback messages for one account (appid + EncodingAESKey)."""

    def __init__(self, encoding_aes_key: str, app_id: str) -> None:
        if len(encoding_aes_key) != 43:
            raise ValueError("EncodingAESKey must be 43 characters")
        try:
            self._key = base64.b64decode(encoding_aes_key + "=", validate=True)
        except binascii.Error:
            raise ValueError("EncodingAESKey is not valid base64") from None
        if len(self._key) != 32:
            raise ValueError("EncodingAESKey must decode to 32 bytes")
        self.app_id = app_id

    def _cipher(self) -> Cipher[modes.CBC]:
        return Cipher(algorithms.AES(self._key), modes.CBC(self._key[:16]))

    def encrypt(self, message: str | bytes, random_prefix: bytes | None = None) -> str:
        """Return the base64 ciphertext of ``message`` for this account."""
        body = message.encode("utf-8") if isinstance(message, str) else message
        prefix = random_prefix if random_prefix is not None else os.urandom(16)
        plain = prefix + struct.pack(">I", len(body)) + body + self.app_id.encode("utf-8")
        pad = _BLOCK - len(plain) % _BLOCK
        plain += bytes([pad]) * pad
        encryptor = self._cipher().encryptor()
        return base64.b64encode(encryptor.update(plain) + encryptor.finalize()).decode("ascii")

    def decrypt(self, ciphertext: str) -> bytes:
        """Return the message bytes; raise :class:`BadCiphertext` or :class:`WrongAppId`."""
        try:
            raw = base64.b64decode(ciphertext, validate=True)
        except (binascii.Error, ValueError):
            raise BadCiphertext("ciphertext is not base64") from None
        if not raw or len(raw) % 16:
            raise BadCiphertext("ciphertext length is not a multiple of the AES block")
        decryptor = self._cipher().decryptor()
        plain = decryptor.update(raw) + decryptor.finalize()
        pad = plain[-1]
        if not 1 <= pad <= _BLOCK or plain[-pad:] != bytes([pad]) * pad:
            raise BadCiphertext("bad padding")
        plain = plain[:-pad]
        if len(plain) < 20:
            raise BadCiphertext("plaintext too short")
        (length,) = struct.unpack(">I", plain[16:20])
        if 20 + length > len(plain):
            raise BadCiphertext("declared length exceeds plaintext")
        message = plain[20 : 20 + length]
        if plain[20 + length :] != self.app_id.encode("utf-8"):
            raise WrongAppId("appid inside the message does not match this account")
        return message
