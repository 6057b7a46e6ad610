"""One beat per data folder: the beat holds ``celerybeat.lock`` while it schedules."""

from __future__ import annotations

import fcntl
import logging
import os
import time
from pathlib import Path

log = logging.getLogger(__name__)

_held: list[int] = []  # the open lock, kept for the life of the beat process


def hold_beat_lock(path: Path, poll: float = 1.0) -> None:
    """Lock ``path`` for the rest of this process, waiting while another beat holds it.

    Two beats would send every sweep twice. A second one (a ``dlrhub beat`` next to a
    ``dlrhub serve``, or a beat of a killed serve not yet cleared away) waits here, and
    takes over when the first is gone: the kernel frees the lock however a process ends.
    """
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    told = False
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            if not told:
                log.warning("another beat holds %s; waiting for it to stop", path)
                told = True
            time.sleep(poll)
            continue
        _held.append(fd)
        return
