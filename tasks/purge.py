"""Thin task: purge the rows older than their retention periods (services.retention)."""

from __future__ import annotations

import logging
import time

from dlrhub.models import utcnow
from dlrhub.services import retention
from dlrhub.services.onlyone import only_one
from dlrhub.tasks.process import Process

log = logging.getLogger(__name__)

LOCK = "dlrhub-purge"


def purge(process: Process) -> int:
    """Purge for at most ``DLRHUB_PURGE_BUDGET`` seconds; return how many rows went.

    Skipped while another worker's purge runs: what it leaves, the next run takes.
    """
    rt = process.rt
    settings = rt.settings
    with only_one(rt.engine, LOCK, settings.data_dir) as mine:
        if not mine:
            log.info("purge skipped: another purge is running")
            return 0
        end = time.monotonic() + settings.purge_budget
        report = retention.purge(rt.sessions, now=utcnow(),
                                 defaults=retention.Periods.of_settings(settings),
                                 batch=settings.purge_batch, pause=settings.purge_pause,
                                 out_of_time=lambda: time.monotonic() >= end)
    # Counts by table only: no row, id or tenant is named.
    log.info("purge %s: %s", "done" if report.finished else "stopped at its time budget",
             ", ".join(f"{table} {rows}" for table, rows in report.deleted.items()))
    return report.total
