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
import sys
import threading
import time

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
