"""The HTTP plumbing the WeChat, WeCom and Weibo sandboxes share.

Each sandbox subclasses :class:`JsonServer` and :class:`JsonHandler` and writes its own
``_dispatch``: routes, error shapes and limits are the platform's; how a JSON answer goes
out and how a body comes in is the same everywhere. :class:`ServedSandbox` runs the
server in a thread (the WeCom and Weibo sandboxes; the WeChat one keeps its own, with a
platform to stop too).
"""

from __future__ import annotations

import json
import logging
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self


class JsonServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False  # stop() must not wait for a client that is still connected


class JsonHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive: a sync makes thousands of calls
    # Each platform spells its JSON content type its own way; the clients read it as is.
    content_type = "application/json; charset=UTF-8"
    max_body = 20 << 20  # bytes

    def setup(self) -> None:
        super().setup()
        # Headers and body go out in separate writes; without this, Nagle's algorithm and
        # the client's delayed ACK add ~40 ms to every keep-alive response.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        # Logged under the sandbox's own module, where its other messages go.
        logging.getLogger(type(self).__module__).debug(
            "%s %s", self.address_string(), format % args
        )

    def _send(self, status: int, payload: Any) -> None:
        data = json.dumps(payload, ensure_ascii=False).encode("utf-8")
        try:
            self.send_response(status)
            self.send_header("Content-Type", self.content_type)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True  # the client gave up (a timeout it asked for)

    def _body(self) -> bytes:
        """The request body; ``ValueError`` if it is over ``max_body`` bytes (unread)."""
        length = int(self.headers.get("Content-Length") or 0)
        if length > self.max_body:
            raise ValueError("body too large")
        return self.rfile.read(length) if length else b""

    def _refuse_too_large(self, payload: Any) -> None:
        self._send(413, payload)
        self.close_connection = True  # the unread body is still on the connection

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def do_DELETE(self) -> None:
        self._dispatch("DELETE")

    def _dispatch(self, method: str) -> None:
        raise NotImplementedError


class ServedSandbox:
    """A sandbox serving its ``_server`` in a daemon thread: ``start()``/``stop()`` or
    ``with``. Subclasses create ``_server`` and name the thread."""

    _server: JsonServer
    _thread: threading.Thread | None
    _thread_name = "sandbox-http"

    @property
    def api_base(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> Self:
        # A short poll keeps stop() quick: tests start and stop many sandboxes.
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=self._thread_name,
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
