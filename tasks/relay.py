"""Thin Celery tasks of the relay: send due deliveries, schedule retries."""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from typing import Any

from sqlalchemy.exc import OperationalError

from models import utcnow
from services import relay as service
from tasks.app import RELAY
from tasks.context import runtime

log = logging.getLogger(__name__)


def relay(task: Any, delivery_ids: list[str]) -> None:
    """Send the due deliveries among ``delivery_ids`` and schedule their retries."""
    rt = runtime()
    try:
        with rt.sessions() as session:
            jobs = service.claim(session, rt.box, delivery_ids, utcnow())
            session.commit()  # the lease: a concurrent task or sweep skips these now
    except OperationalError as ex:
        raise task.retry(exc=ex, countdown=min(60, 2 ** min(task.request.retries, 6))) from ex
    if not jobs:
        return
    outcomes = asyncio.run(service.send_all(
        jobs, allow_private=rt.settings.allow_private_endpoints))
    with rt.sessions() as session:
        settled = service.record(session, jobs, outcomes, utcnow())
        session.commit()
    # Waits are Celery countdowns, never sleeps in a worker.
    later: dict[int, list[str]] = defaultdict(list)
    for item in settled:
        if item.retry_in is not None:
            later[round(item.retry_in)].append(item.delivery_id)
    for countdown, ids in later.items():
        task.app.send_task(RELAY, args=[ids], countdown=countdown)
    log.info("relayed %d deliveries", len(jobs))


def enqueue(app: Any, delivery_ids: list[str], size: int = 100) -> None:
    """Hand planned deliveries to the relay, ``size`` per task."""
    for start in range(0, len(delivery_ids), size):
        app.send_task(RELAY, args=[delivery_ids[start:start + size]])
