"""Thin Celery tasks: ingest callbacks from the inbox, sweep what was missed."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from dlrhub.models import utcnow
from dlrhub.services import ingest as service
from dlrhub.services import metrics
from dlrhub.services.runtime import Runtime
from dlrhub.tasks import relay
from dlrhub.tasks.app import INGEST_QUEUE, queue_length
from dlrhub.tasks.process import Process

log = logging.getLogger(__name__)


def ingest_many(task: Any, process: Process, inbox_ids: list[str]) -> None:
    """Ingest several callbacks in one transaction (the API coalesces them under load)."""
    try:
        # The relay is woken as each transaction commits (services.wakeups).
        report = _ingest(process.rt, inbox_ids)
    except service.DB_AWAY as ex:
        # The database is away: try again soon; the inbox still holds the rows.
        raise task.retry(exc=ex, countdown=min(60, 2 ** min(task.request.retries, 6))) from ex
    metrics.record_ingest(report)
    log.info("ingested %d callbacks: %d receipts stored, %d duplicates, %d failed",
             report.processed, report.stored, report.duplicates, report.failed)


def _ingest(rt: Runtime, inbox_ids: list[str]) -> service.IngestReport:
    """Ingest the rows in one transaction, or each alone if that one fails."""
    max_attempts = rt.settings.ingest_max_attempts
    try:
        with rt.sessions() as session:
            report = service.ingest(session, rt.box, inbox_ids, now=utcnow(),
                                    max_attempts=max_attempts)
            session.commit()
            return report
    except service.DB_AWAY:
        raise
    except Exception as ex:
        # Any other error (DataError, IntegrityError, a bug) rolled the whole batch back:
        # each row alone, so one poison row is counted and its neighbours are stored.
        log.warning("ingest of %d callbacks failed (%s): one by one", len(inbox_ids),
                    type(ex).__name__)
    return service.ingest_each(rt.sessions, rt.box, inbox_ids, now=utcnow(),
                               max_attempts=max_attempts)


def sweep(task: Any, process: Process) -> int:
    """Enqueue again inbox rows and deliveries left pending too long; return how many."""
    rt = process.rt
    grace = timedelta(seconds=rt.settings.sweep_grace)
    inbox_grace = service.sweep_grace(grace, queue_length(task.app, INGEST_QUEUE))
    ids = service.stale_pending(rt.engine, older_than=inbox_grace, now=utcnow())
    process.wakeups.inbox_ready(ids)
    due = relay.sweep(task.app, process, grace)
    if ids or due:
        log.warning("sweep: re-enqueued %d callbacks and %d deliveries", len(ids), due)
    return len(ids) + due
