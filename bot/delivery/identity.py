"""Who a worker is: its id, and whether a process on this host is still alive.

A worker's id goes into the ``worker`` table with its heartbeat; :func:`pid_alive` lets a
restarted bot take over at once the rows of a worker whose process is gone from this host.
"""

from __future__ import annotations

import os
import secrets
import socket


def default_worker_id() -> str:
    """``host:pid:random``: unique per process start, so a container restarted with the
    same host name and pid 1 is not taken for the worker that died before it."""
    return f"{socket.gethostname()[:64]}:{os.getpid()}:{secrets.token_hex(4)}"


def pid_alive(pid: int) -> bool:
    """Whether a process with this pid exists on this host (another user's counts)."""
    if pid <= 0:
        return True  # not a pid we can ask about: trust the heartbeat
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True  # EPERM: it exists, it is someone else's
    return True
