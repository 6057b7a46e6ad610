"""Thin Celery tasks of the relay: send due deliveries, wake an endpoint's parked ones."""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Sequence
from datetime import timedelta
from math import ceil
from typing import Any

from sqlalchemy.exc import OperationalError

from dlrhub.models import utcnow
from dlrhub.services import dispatch
from dlrhub.services import relay as service
from dlrhub.services.ingest import chunks
from dlrhub.services.runtime import Runtime
from dlrhub.services.sender import process_sender
from dlrhub.tasks.app import RELAY, RELAY_ENDPOINT, RELAY_QUEUE
from dlrhub.tasks.context import runtime

log = logging.getLogger(__name__)

TASK_SIZE = 100  # deliveries per relay task
# Relay tasks waiting in the broker above which the sweep takes only long-lost work.
SWEEP_QUEUE_LIMIT = 20


class CeleryQueue:
    """The relay's :class:`services.dispatch.Queue` on Celery."""

    def __init__(self, app: Any) -> None:
        self.app = app

    def later(self, countdown: int, planned: list[tuple[str, str]]) -> None:
        """Run the relay for these (endpoint, delivery) pairs in ``countdown`` seconds."""
        enqueue(self.app, planned, countdown=countdown)

    def wake_endpoint(self, endpoint_id: str, *, countdown: float, limit: int) -> None:
        """Run the relay for up to ``limit`` of the endpoint's due deliveries."""
        self.app.send_task(RELAY_ENDPOINT, args=[endpoint_id, limit],
                           countdown=ceil(countdown))


def relay(task: Any, delivery_ids: list[str]) -> None:
    """Send the due deliveries among ``delivery_ids`` and schedule what follows."""
    rt = runtime()
    sender = process_sender(allow_private=rt.settings.allow_private_endpoints)
    try:
        sent = dispatch.run(rt, sender, CeleryQueue(task.app), delivery_ids)
    except OperationalError as ex:
        # The database is away: the deliveries wait in it, unclaimed or leased.
        raise task.retry(exc=ex, countdown=min(60, 2 ** min(task.request.retries, 6))) from ex
    log.debug("relayed %d deliveries", sent)


def relay_endpoint(task: Any, endpoint_id: str, limit: int) -> None:
    """Enqueue an endpoint's due deliveries: a circuit's probe, or parked work released."""
    rt = runtime()
    enqueue(task.app, service.due(rt.engine, endpoint_id, utcnow(), limit=limit))


def enqueue(app: Any, planned: Sequence[tuple[str, str]], *, countdown: int = 0) -> None:
    """Hand (endpoint, delivery) pairs to the relay: each task carries one endpoint's."""
    by_endpoint: dict[str, list[str]] = defaultdict(list)
    for endpoint_id, delivery_id in planned:
        by_endpoint[endpoint_id].append(delivery_id)
    for ids in by_endpoint.values():
        for chunk in chunks(ids, TASK_SIZE):
            app.send_task(RELAY, args=[chunk], countdown=countdown or None)


def sweep(app: Any, rt: Runtime, grace: timedelta) -> int:
    """Enqueue again deliveries whose task was lost; return how many.

    A delivery due for longer than the grace lost its task (a broker restart, a worker
    killed past its lease). While 20 or more relay tasks wait in the broker, overdue
    deliveries are most likely waiting in it: only those overdue ten times longer
    (at least 10 min) are taken then, so a lost one is never left for good.
    """
    waiting = queue_length(app, RELAY_QUEUE)
    if waiting >= SWEEP_QUEUE_LIMIT:
        grace = max(grace * 10, timedelta(minutes=10))
    due = service.overdue(rt.engine, older_than=grace, now=utcnow())
    enqueue(app, due)
    return len(due)


def queue_length(app: Any, name: str) -> int:
    """Return how many messages wait in the broker queue ``name`` (0 if unknown)."""
    try:
        with app.connection_for_write() as conn:
            return int(conn.default_channel.queue_declare(queue=name, passive=True)
                       .message_count)
    except Exception:  # a broker that cannot tell: sweep as if the queue were empty
        log.debug("could not read the length of queue %s", name, exc_info=True)
        return 0
