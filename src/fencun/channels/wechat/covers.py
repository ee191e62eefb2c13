"""The cover image of a news article when the merchant gave none.

WeChat refuses an article without a thumbnail; a small plain PNG in the brand colour
(written with the standard library, far below the 64 KB thumb limit) lets the article
go out instead of failing the campaign.
"""

from __future__ import annotations

import struct
import zlib

BRAND_RGB = (0x2E, 0x6B, 0x4F)


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def plain_png(width: int = 64, height: int = 64, rgb: tuple[int, int, int] = BRAND_RGB) -> bytes:
    """A valid 8-bit RGB PNG of one colour, ``width`` × ``height`` pixels."""
    row = b"\x00" + bytes(rgb) * width  # filter byte 0 (none), then the pixels
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", header)
        + _chunk(b"IDAT", zlib.compress(row * height, 9))
        + _chunk(b"IEND", b"")
    )
