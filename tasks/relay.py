"""Thin Celery tasks of the relay: send due deliveries, wake an endpoint's parked ones."""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Sequence
from math import ceil
from typing import Any

from sqlalchemy.exc import OperationalError

from models import utcnow
from services import dispatch
from services import relay as service
from services.sender import process_sender
from tasks.app import RELAY, RELAY_ENDPOINT
from tasks.context import runtime

log = logging.getLogger(__name__)

TASK_SIZE = 100  # deliveries per relay task


class CeleryQueue:
    """The relay's :class:`services.dispatch.Queue` on Celery."""

    def __init__(self, app: Any) -> None:
        self.app = app

    def later(self, countdown: int, delivery_ids: list[str]) -> None:
        """Run the relay for these deliveries in ``countdown`` seconds."""
        for start in range(0, len(delivery_ids), TASK_SIZE):
            self.app.send_task(RELAY, args=[delivery_ids[start:start + TASK_SIZE]],
                               countdown=countdown)

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


def enqueue(app: Any, planned: Sequence[tuple[str, str]], size: int = TASK_SIZE) -> None:
    """Hand (endpoint, delivery) pairs to the relay: each task carries one endpoint's."""
    by_endpoint: dict[str, list[str]] = defaultdict(list)
    for endpoint_id, delivery_id in planned:
        by_endpoint[endpoint_id].append(delivery_id)
    for ids in by_endpoint.values():
        for start in range(0, len(ids), size):
            app.send_task(RELAY, args=[ids[start:start + size]])
