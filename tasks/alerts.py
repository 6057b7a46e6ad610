"""Thin task: evaluate the tenants' alert rules (services.alerts)."""

from __future__ import annotations

from dlrhub.models import utcnow
from dlrhub.services.alerts import run as service
from dlrhub.tasks.process import Process


def evaluate(process: Process) -> int:
    """Evaluate every rule now; return how many started firing or resolved.

    Scheduled by the beat at least every minute; the relay is woken as each batch of
    rules commits.
    """
    report = service.evaluate_all(process.rt.sessions, now=utcnow())
    return report.firing + report.resolved
