"""An endpoint's rate limit: requests per second, as evenly spaced send slots.

The endpoint row keeps its next free slot (``rate_cursor``). Claiming n deliveries
reserves the next n slots, 1/rate apart, never earlier than now: a burst after a quiet
spell starts at once, a backlog is spread out. The row is locked while slots are
taken, so several workers share one limit.
"""

from __future__ import annotations

from datetime import datetime, timedelta


def reserve(cursor: datetime | None, now: datetime, rate: float, n: int
            ) -> tuple[list[datetime], datetime]:
    """Return the send time of each of ``n`` requests and the next free slot after them."""
    step = timedelta(seconds=1.0 / rate)
    start = now if cursor is None or cursor < now else cursor
    slots = [start + step * i for i in range(n)]
    return slots, start + step * n
