"""An endpoint's rate limit: requests per second, as evenly spaced send slots.

The endpoint row keeps its next free slot (``rate_cursor``). Claiming deliveries
reserves the next slots, 1/rate apart, never earlier than now: a burst after a quiet
spell starts at once, a backlog is spread out. The row is locked while slots are
taken, so several workers share one limit.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from math import ceil


def reserve(cursor: datetime | None, now: datetime, rate: float, n: int,
            window: float | None = None) -> tuple[list[datetime], datetime]:
    """Return the send times of up to ``n`` requests and the next free slot after them.

    With ``window``, only the slots that start within that many seconds from now are
    taken (possibly none); the caller puts the rest off.
    """
    step = timedelta(seconds=1.0 / rate)
    start = now if cursor is None or cursor < now else cursor
    if window is not None:
        left = (now - start).total_seconds() + window
        n = min(n, max(0, ceil(left * rate - 1e-9)))
    slots = [start + step * i for i in range(n)]
    return slots, start + step * n
