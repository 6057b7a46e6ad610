"""What a worker process runs its tasks with, built once per process after the pool forks.

Connections, the HTTP client's event loop, the late recorder's thread and the
heartbeat's thread do not survive a fork, so they are built in the pool process itself: at its start
(``worker_process_init``), or at its first task where the pool does not fork.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

from dlrhub.config import Settings
from dlrhub.models import utcnow
from dlrhub.services.relay.run import Relay
from dlrhub.services.runtime import Runtime
from dlrhub.tasks.heartbeat import Heartbeat
from dlrhub.tasks.wakeups import CeleryWakeups


@dataclass
class Process:
    """A worker process's runtime (sessions wake through ``wakeups``), relay and heartbeat."""

    rt: Runtime
    wakeups: CeleryWakeups
    relay: Relay
    heartbeat: Heartbeat

    @classmethod
    def build(cls, settings: Settings, celery: Any) -> Process:
        """Build the engine, sessions, secret box, breaker, sender and wake-ups; start
        the heartbeat."""
        wakeups = CeleryWakeups(celery)
        rt = Runtime.build(settings).waking(wakeups)
        heartbeat = Heartbeat(rt.sessions, settings.heartbeat_seconds, utcnow)
        heartbeat.start()
        return cls(rt, wakeups, Relay.build(rt), heartbeat)


class ProcessSlot:
    """Holds the process's :class:`Process` once built; the tasks ask it for it."""

    def __init__(self, settings: Settings, celery: Any) -> None:
        self._settings, self._celery = settings, celery
        self._process: Process | None = None
        self._lock = threading.Lock()

    def start(self) -> Process:
        """Build the process's parts, if not built yet; return them."""
        with self._lock:
            if self._process is None:
                self._process = Process.build(self._settings, self._celery)
            return self._process

    def stop(self, timeout: float) -> bool:
        """Stop the heartbeat, let sends still under way be recorded; False on time-out."""
        if self._process is None:
            return True
        self._process.heartbeat.stop()
        return self._process.relay.drain(timeout)
