"""Child processes that die with the process that started them.

A SIGKILL of ``fencun serve`` runs no cleanup, so its embedded worker must notice on its
own: on Linux the kernel sends it SIGTERM (``PR_SET_PDEATHSIG``); everywhere a watchdog
thread ends it once its parent is gone.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable

PARENT_ENV = "FENCUN_PARENT_PID"
PR_SET_PDEATHSIG = 1
WATCH_INTERVAL_S = 0.5


def child_environment() -> dict[str, str]:
    """This process's environment plus the mark that makes a child die with it."""
    return {**os.environ, PARENT_ENV: str(os.getpid())}


def die_with_parent() -> None:
    """In a child started with :func:`child_environment`: end when the parent ends.

    A no-op in a process started otherwise (``fencun worker`` run by hand or by a supervisor).
    """
    parent = os.environ.pop(PARENT_ENV, "")
    if not parent.isdigit():
        return
    parent_pid = int(parent)
    if sys.platform.startswith("linux"):
        _linux_pdeathsig()
    # The parent may have died before the line above: then we are already reparented.
    if os.getppid() != parent_pid:
        os.kill(os.getpid(), signal.SIGTERM)
        return
    threading.Thread(target=_watch, args=(parent_pid,), name="parent-watchdog", daemon=True).start()


def _linux_pdeathsig() -> None:
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
    except (OSError, AttributeError):
        pass  # the watchdog still covers it


def _watch(parent_pid: int) -> None:
    while os.getppid() == parent_pid:
        time.sleep(WATCH_INTERVAL_S)
    # SIGTERM first, so the worker stops the way a supervisor would stop it.
    os.kill(os.getpid(), signal.SIGTERM)
    time.sleep(10)
    os._exit(1)


RESTART_CHECK_S = 1.0


class Kept:
    """A child process started again whenever it exits on its own (not when stopped):
    ``fencun serve``'s callback writer, whose absence would not lose a callback (the
    servers then write their own) but would slow every one of them."""

    def __init__(self, args: list[str], env: dict[str, str], on_restart: Callable[[int], None]) -> None:
        self.args, self.env, self.on_restart = args, env, on_restart
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self.process = subprocess.Popen(args, env=env)  # noqa: S603 - our own command line
        threading.Thread(target=self._watch, name="keep-child", daemon=True).start()

    def _watch(self) -> None:
        while not self._stopping.wait(RESTART_CHECK_S):
            with self._lock:
                code = self.process.poll()
                if code is None or self._stopping.is_set():
                    continue
                self.on_restart(code)
                self.process = subprocess.Popen(self.args, env=self.env)  # noqa: S603

    def stop(self, timeout: float = 10.0) -> None:
        """Stop it (SIGTERM, then SIGKILL after ``timeout`` seconds); no restart after."""
        with self._lock:
            self._stopping.set()
            self.process.terminate()
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
