"""Calling a WSGI application in process, as a server would: for tests and benchmarks."""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any


def environ(method: str, path: str, query_string: str = "", body: bytes = b"", length: str | None = None) -> dict:
    """A WSGI environ for one request (``length`` overrides the declared Content-Length)."""
    return {
        "REQUEST_METHOD": method,
        "PATH_INFO": path,
        "QUERY_STRING": query_string,
        "CONTENT_LENGTH": str(len(body)) if length is None else length,
        "CONTENT_TYPE": "text/xml",
        "SERVER_NAME": "testserver",
        "SERVER_PORT": "80",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1",
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(body),
        "wsgi.errors": io.StringIO(),
        "wsgi.multithread": True,
        "wsgi.multiprocess": False,
        "wsgi.run_once": False,
    }


def call(application: Callable[..., Any], env: dict) -> tuple[int, dict[str, str], bytes]:
    """Run one request through ``application``: (status code, headers, body)."""
    seen: dict[str, Any] = {}

    def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> None:
        seen["status"], seen["headers"] = int(status.split()[0]), dict(headers)

    content = b"".join(application(env, start_response))
    return seen["status"], seen["headers"], content
