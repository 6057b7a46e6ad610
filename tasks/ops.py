"""Thin task: watch dlrhub's own operation (services.ops_conditions, services.admin_events)."""

from __future__ import annotations

from dlrhub.models import utcnow
from dlrhub.services import admin_events, ops_conditions
from dlrhub.tasks.process import Process


def evaluate(process: Process) -> int:
    """Tell bursts of rejected callbacks to tenants; the backlog and limited tenants to the admin.

    Scheduled by the beat with the alert rules; return how many events were told.
    """
    rt = process.rt
    settings = rt.settings
    now = utcnow()
    report = ops_conditions.evaluate_rejected(
        rt.sessions, now=now, threshold=settings.callbacks_rejected_threshold,
        window=settings.callbacks_rejected_window)
    told = report.firing + report.resolved
    if settings.admin_webhook_url and settings.admin_webhook_secret:
        hook = admin_events.AdminHook(settings.admin_webhook_url,
                                      settings.admin_webhook_secret)
        if admin_events.evaluate_backlog(rt.sessions, hook, now=now,
                                         threshold=settings.admin_backlog_threshold):
            told += 1
        told += len(admin_events.evaluate_rate_limited(
            rt.sessions, hook, window=settings.admin_rate_limited_window, now=now))
    return told
