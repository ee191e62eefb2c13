"""Request bodies read with a size limit, whether or not the request states their length.

A client may send a body with a ``Content-Length`` or in chunks (``Transfer-Encoding:
chunked``, no length). WSGI servers such as gunicorn take the chunks apart and hand the
application a stream that ends where the body ends, and say so with the environ key
``wsgi.input_terminated`` (PEP 3333's extension); such a body has no ``CONTENT_LENGTH``.
Reading only ``CONTENT_LENGTH`` bytes therefore reads nothing of it, and a valid callback
is refused as empty.

Either way, memory stays bounded: a stated length over the limit is refused before any
byte is read, and a body without one is read up to ``limit + 1`` bytes and refused when
it gets there, without reading the rest.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["BodyTooLarge", "LengthRequired", "body_length", "read_body"]


class BodyTooLarge(ValueError):
    """The body is (or says it is) longer than the limit; answer 413."""


class LengthRequired(ValueError):
    """A body sent in chunks to a server that hands them over undecoded; answer 411."""


def body_length(environ: Mapping[str, Any]) -> int | None:
    """The body's length in bytes: ``CONTENT_LENGTH`` when the request states one, ``None``
    when it is sent without one and the server ends the input where the body ends, 0 when
    there is no body to read.

    ``LengthRequired`` when the request says it is chunked but the server does not end the
    input for us (``wsgiref``): reading then would read chunk framing, or wait for a
    connection that stays open.
    """
    stated = environ.get("CONTENT_LENGTH")
    if stated:
        try:
            return max(0, int(stated))
        except ValueError:
            return 0
    if environ.get("wsgi.input_terminated"):
        return None
    if environ.get("HTTP_TRANSFER_ENCODING"):
        raise LengthRequired("a body without Content-Length that the server does not end")
    return 0


def read_body(environ: Mapping[str, Any], limit: int) -> bytes:
    """At most ``limit`` bytes of the request's body, from ``environ["wsgi.input"]``.

    ``BodyTooLarge`` when the stated length is over ``limit`` (nothing is read) or, with no
    stated length, when the body goes past ``limit`` (``limit + 1`` bytes are read, the
    rest is left unread). ``LengthRequired`` as :func:`body_length`.
    """
    length = body_length(environ)
    if length is not None and length > limit:
        raise BodyTooLarge("body too large")
    wanted = limit + 1 if length is None else length
    stream = environ["wsgi.input"]
    parts: list[bytes] = []
    got = 0
    # A stream may return fewer bytes than asked for before its end: read until the body
    # is complete, the limit is passed or the stream says it has ended (an empty read).
    while got < wanted:
        part = stream.read(wanted - got)
        if not part:
            break
        parts.append(part)
        got += len(part)
    body = b"".join(parts)
    if len(body) > limit:
        raise BodyTooLarge("body too large")
    return body
