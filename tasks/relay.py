"""Thin Celery tasks of the relay: send due deliveries, wake an endpoint's parked ones."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from sqlalchemy.exc import OperationalError

from dlrhub.models import utcnow
from dlrhub.services.relay import outbox
from dlrhub.tasks.app import RELAY_QUEUE, queue_length
from dlrhub.tasks.process import Process

log = logging.getLogger(__name__)

# Relay tasks waiting in the broker above which the sweep takes only long-lost work.
SWEEP_QUEUE_LIMIT = 20


def relay(task: Any, process: Process, delivery_ids: list[str]) -> None:
    """Send the due deliveries among ``delivery_ids``; what follows is woken after commit."""
    try:
        sent = process.relay.run(delivery_ids)
    except OperationalError as ex:
        # The database is away: the deliveries wait in it, unclaimed or leased.
        raise task.retry(exc=ex, countdown=min(60, 2 ** min(task.request.retries, 6))) from ex
    log.debug("relayed %d deliveries", sent)


def relay_endpoint(task: Any, process: Process, endpoint_id: str, limit: int) -> None:
    """Wake an endpoint's due deliveries: a circuit's probe, or parked work released."""
    process.wakeups.deliveries_ready(
        outbox.due(process.rt.engine, endpoint_id, utcnow(), limit=limit))


def sweep(app: Any, process: Process, grace: timedelta) -> int:
    """Wake again deliveries whose task was lost; return how many.

    A delivery due for longer than the grace lost its task (a broker restart, a worker
    killed past its lease). While 20 or more relay tasks wait in the broker, overdue
    deliveries are most likely waiting in it: only those overdue ten times longer
    (at least 10 min) are taken then, so a lost one is never left for good.
    """
    if queue_length(app, RELAY_QUEUE) >= SWEEP_QUEUE_LIMIT:
        grace = max(grace * 10, timedelta(minutes=10))
    due = outbox.overdue(process.rt.engine, older_than=grace, now=utcnow())
    process.wakeups.deliveries_ready(due)
    return len(due)
