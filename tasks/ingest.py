"""Thin Celery tasks: ingest callbacks from the inbox, sweep what was missed."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from sqlalchemy.exc import OperationalError

from models import utcnow
from services import ingest as service
from services import metrics
from services import relay as relay_service
from tasks import relay
from tasks.app import INGEST_MANY, RELAY_QUEUE
from tasks.context import runtime

log = logging.getLogger(__name__)

SWEEP_BATCH = 100
# Relay tasks waiting in the broker above which the sweep leaves deliveries alone.
SWEEP_QUEUE_LIMIT = 20


def queue_length(app: Any, name: str) -> int:
    """Return how many messages wait in the broker queue ``name`` (0 if unknown)."""
    try:
        with app.connection_for_write() as conn:
            return int(conn.default_channel.queue_declare(queue=name, passive=True)
                       .message_count)
    except Exception:  # a broker that cannot tell: sweep as if the queue were empty
        log.debug("could not read the length of queue %s", name, exc_info=True)
        return 0

def ingest(task: Any, inbox_id: str) -> None:
    """Ingest one callback from the inbox."""
    ingest_many(task, [inbox_id])


def ingest_many(task: Any, inbox_ids: list[str]) -> None:
    """Ingest several callbacks in one transaction (the API coalesces them under load)."""
    rt = runtime()
    try:
        with rt.sessions() as session:
            report = service.ingest(session, rt.box, inbox_ids, now=utcnow(),
                                    max_attempts=rt.settings.ingest_max_attempts)
            session.commit()
    except OperationalError as ex:
        # The database is away: try again soon; the inbox still holds the rows.
        raise task.retry(exc=ex, countdown=min(60, 2 ** min(task.request.retries, 6))) from ex
    relay.enqueue(task.app, report.deliveries)  # after the commit, never inside it
    metrics.record_ingest(report)
    log.info("ingested %d callbacks: %d receipts stored, %d duplicates, %d failed",
             report.processed, report.stored, report.duplicates, report.failed)


def sweep(task: Any) -> int:
    """Enqueue again inbox rows and deliveries left pending too long; return how many."""
    rt = runtime()
    grace = timedelta(seconds=rt.settings.sweep_grace)
    ids = service.stale_pending(rt.engine, older_than=grace, now=utcnow())
    for chunk in service.chunks(ids, SWEEP_BATCH):
        task.app.send_task(INGEST_MANY, args=[chunk])
    # A delivery due for longer than the grace lost its task (a broker restart, a
    # killed worker past its lease): send it again. While the relay queue holds a
    # backlog, overdue deliveries are most likely just waiting in it: leave them.
    due: list[tuple[str, str]] = []
    waiting = queue_length(task.app, RELAY_QUEUE)
    if waiting < SWEEP_QUEUE_LIMIT:
        due = relay_service.overdue(rt.engine, older_than=grace, now=utcnow())
        relay.enqueue(task.app, due)
    else:
        log.info("sweep: %d relay tasks queued; overdue deliveries left to them", waiting)
    if ids or due:
        log.warning("sweep: re-enqueued %d callbacks and %d deliveries", len(ids), len(due))
    return len(ids) + len(due)
