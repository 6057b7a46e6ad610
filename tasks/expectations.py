"""Thin task: report expected messages whose receipts did not come (services.expectations)."""

from __future__ import annotations

from dlrhub.models import utcnow
from dlrhub.services.expectations import sweep as service
from dlrhub.tasks.process import Process


def sweep(process: Process) -> int:
    """Emit the missing events and synthetic statuses now due; return how many.

    Part of the beat's sweep: the relay is woken as each batch commits.
    """
    report = service.sweep(process.rt.sessions, now=utcnow())
    return report.missing + report.synthetic
