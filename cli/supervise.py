"""How ``dlrhub serve`` treats a worker process that died."""

from __future__ import annotations

from collections import deque


class WorkerRestarts:
    """Allow a dead worker to be started again, unless it keeps dying.

    A worker killed by the OOM killer or a crash loses nothing (callbacks wait in the
    inbox, deliveries in the database, and the sweeper sends their tasks again), so
    starting it again is right. It is started again ``limit`` times within ``window``
    seconds; dying once more than that has a cause a restart won't fix.
    """

    def __init__(self, limit: int = 5, window: float = 60.0) -> None:
        self._limit = limit
        self._window = window
        self._times: deque[float] = deque()

    def allow(self, now: float) -> bool:
        """Record a restart at ``now`` (monotonic seconds) if one is allowed."""
        while self._times and now - self._times[0] >= self._window:
            self._times.popleft()
        if len(self._times) >= self._limit:
            return False
        self._times.append(now)
        return True
