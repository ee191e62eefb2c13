"""Keeping a local sandbox in the foreground until the user or a supervisor stops it."""

from __future__ import annotations

import signal
import sys
import threading
from typing import Protocol


class Stoppable(Protocol):
    def stop(self) -> None: ...


def serve_until_stopped(box: Stoppable) -> None:
    """Block until Ctrl+C or SIGTERM, then stop ``box``."""
    sys.stdout.flush()  # a parent process may be reading the address from a pipe
    stop = threading.Event()
    # SIGTERM is how a supervisor (or a test) asks a sandbox to go away cleanly.
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        stop.wait()
    except KeyboardInterrupt:
        pass
    finally:
        box.stop()
