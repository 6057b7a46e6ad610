"""The one implementation of :class:`services.wakeups.Wakeups`: Celery tasks.

Ingest wake-ups carry inbox ids to ``ingest_many``; relay wake-ups carry one
endpoint's deliveries per ``relay`` task (a slow endpoint never shares a task with a
fast one). In the API, ingest wake-ups go through the :class:`~tasks.enqueue.Enqueuer`,
which coalesces them under load; the worker sends them as they come. Each task carries
the trace context it was sent in, when tracing is on (core/tracing.py).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Sequence
from math import ceil
from typing import Any

from dlrhub.config import tracing
from dlrhub.tasks.app import INGEST_MANY, RELAY, RELAY_ENDPOINT
from dlrhub.tasks.enqueue import Enqueuer

RELAY_TASK_SIZE = 100  # deliveries per relay task
INGEST_TASK_SIZE = 100  # inbox rows per ingest task sent without coalescing


class CeleryWakeups:
    """Wake the workers by sending Celery tasks through ``celery``."""

    def __init__(self, celery: Any, *, coalesce: Enqueuer | None = None) -> None:
        self._celery = celery
        self._coalesce = coalesce

    def inbox_ready(self, inbox_ids: Sequence[str], records: int = 1) -> None:
        """Have these inbox rows ingested."""
        if self._coalesce is not None:
            for inbox_id in inbox_ids:
                self._coalesce.submit(inbox_id, records)
            return
        for chunk in _chunks(inbox_ids, INGEST_TASK_SIZE):
            self._celery.send_task(INGEST_MANY, args=[chunk], headers=tracing.headers())

    def deliveries_ready(self, planned: Sequence[tuple[str, str]], *,
                         countdown: float = 0) -> None:
        """Relay these (endpoint, delivery) pairs in ``countdown`` seconds."""
        by_endpoint: dict[str, list[str]] = defaultdict(list)
        for endpoint_id, delivery_id in planned:
            by_endpoint[endpoint_id].append(delivery_id)
        for ids in by_endpoint.values():
            for chunk in _chunks(ids, RELAY_TASK_SIZE):
                self._celery.send_task(RELAY, args=[chunk], countdown=ceil(countdown) or None,
                                       headers=tracing.headers())

    def endpoint_ready(self, endpoint_id: str, *, countdown: float, limit: int) -> None:
        """Relay up to ``limit`` of the endpoint's due deliveries in ``countdown`` seconds."""
        self._celery.send_task(RELAY_ENDPOINT, args=[endpoint_id, limit],
                               countdown=ceil(countdown), headers=tracing.headers())


def _chunks(items: Sequence[str], size: int) -> Iterator[list[str]]:
    for start in range(0, len(items), size):
        yield list(items[start:start + size])
