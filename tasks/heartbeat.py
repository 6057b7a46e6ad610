"""A worker process's heartbeat: a daemon thread that writes it every few seconds.

Started with the process's runtime (tasks/process.py), so that every pool process, and
the one process of a pool that does not fork, has one. A database that cannot be
reached costs a warning, never the process: the next beat tries again.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from collections.abc import Callable
from datetime import datetime

from sqlmodel import Session

from dlrhub.services.heartbeats import beat

log = logging.getLogger(__name__)


class Heartbeat:
    """Writes ``<host>:<pid>``'s row every ``interval`` seconds until stopped."""

    def __init__(self, sessions: Callable[[], Session], interval: float,
                 clock: Callable[[], datetime]) -> None:
        self.name = f"{socket.gethostname()}:{os.getpid()}"
        self._sessions, self._interval, self._clock = sessions, interval, clock
        self._started_at = clock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="dlrhub-heartbeat",
                                        daemon=True)

    def start(self) -> None:
        """Beat now, then every ``interval`` seconds, in a thread of its own."""
        self._thread.start()

    def stop(self) -> None:
        """Stop beating (the row stays, and ages)."""
        self._stop.set()

    def beat_once(self) -> None:
        """Write the row once; a failure is logged by its type only, and passes."""
        try:
            with self._sessions() as session:
                beat(session, name=self.name, started_at=self._started_at, now=self._clock())
                session.commit()
        except Exception as ex:  # the heartbeat must never take the worker down
            log.warning("heartbeat not recorded (%s)", type(ex).__name__)

    def _run(self) -> None:
        while True:
            self.beat_once()
            if self._stop.wait(self._interval):
                return
