"""A tenant's overview: the figures the console's first page shows, from the services
behind ``/v1/analytics/delivery``, ``/v1/endpoints``, ``/v1/inbox`` and ``/v1/expectations``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlmodel import Session

from dlrhub.core.vocabulary import ExpectationState, InboxState
from dlrhub.models import Endpoint, Expectation
from dlrhub.services import accounts, analytics, endpoints, inbox
from dlrhub.services.crypto import SecretBox
from dlrhub.services.expectations.register import list_expectations

RANGES = {"24h": timedelta(hours=24), "7d": timedelta(days=7)}
# The statuses the chart stacks, in the order it stacks them.
CHART_STATUSES = ("delivered", "pending", "failed", "expired", "rejected", "unknown")
TOP_REASONS = 5
LATEST = 5


@dataclass(frozen=True)
class EndpointHealth:
    """An endpoint and its state: ``disabled``, ``circuit_open``, ``failing`` or ``healthy``."""

    endpoint: Endpoint
    state: str


@dataclass
class Overview:
    """What a tenant sees first."""

    since: datetime
    until: datetime
    totals: dict[str, Any]
    hours: list[dict[str, Any]]
    providers: list[dict[str, Any]]
    reasons: list[tuple[str, int]]
    endpoints: list[EndpointHealth]
    rejected: list[dict[str, Any]]
    missing: list[Expectation]
    callback_urls: list[tuple[str, str, str]] = field(default_factory=list)


def endpoint_state(endpoint: Endpoint, now: datetime) -> str:
    """Return how an endpoint stands, the worst first."""
    if not endpoint.enabled:
        return "disabled"
    if endpoint.circuit_open_until is not None and endpoint.circuit_open_until > now:
        return "circuit_open"
    if endpoint.failing_since is not None:
        return "failing"
    return "healthy"


def tenant_overview(session: Session, box: SecretBox, *, tenant_id: str, public_url: str,
                    span: timedelta, now: datetime) -> Overview:
    """Return a tenant's overview of the ``span`` up to now."""
    since = now - span
    whole = analytics.delivery(session, tenant_id=tenant_id, since=since, now=now)
    by_hour = analytics.delivery(session, tenant_id=tenant_id, since=since, group_by="hour",
                                 now=now)
    by_provider = analytics.delivery(session, tenant_id=tenant_id, since=since,
                                     group_by="provider", now=now)
    totals = whole.data[0] if whole.data else {}
    reasons = sorted(totals.get("reasons", {}).items(), key=lambda kv: (-kv[1], kv[0]))
    listed, _ = endpoints.list_endpoints(session, tenant_id=tenant_id, limit=100)
    health = [EndpointHealth(e, endpoint_state(e, now)) for e in listed]
    rejected, _ = inbox.list_inbox(session, tenant_id=tenant_id, state=InboxState.rejected,
                                   limit=LATEST)
    missing, _ = list_expectations(session, tenant_id=tenant_id,
                                   state=ExpectationState.missing.value, limit=LATEST)
    result = Overview(whole.since, whole.until, totals, by_hour.data, by_provider.data,
                      reasons[:TOP_REASONS], health, rejected, missing)
    if not totals:  # nothing yet: say where receipts come from
        live, _ = accounts.list_accounts(session, tenant_id=tenant_id, limit=10)
        result.callback_urls = [(a.name, a.provider,
                                 accounts.callback_url(public_url, a, box)) for a in live]
    return result
