"""What an attempt's answer means: accepted, retried when, or given up; and when an
endpoint that keeps failing is disabled."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from dlrhub.models import DeliveryStatus, Endpoint
from dlrhub.providers.registry import PROVIDERS
from dlrhub.services.relay.jobs import Job, Outcome
from dlrhub.services.relay.policy import retries

# An endpoint whose deliveries have all failed this long is disabled.
DISABLE_AFTER = timedelta(days=5)


@dataclass(frozen=True)
class Verdict:
    """Where one attempt leaves its delivery."""

    status: DeliveryStatus
    retry_in: float | None  # seconds until the next try, if pending again
    error: str | None  # what the delivery's last_error becomes
    unavailable: bool  # the failure says the endpoint is down (it counts for the circuit)


def judge(job: Job, outcome: Outcome, now: datetime) -> Verdict:
    """Return what ``outcome`` of the ``job.attempts + 1``-th try means for its delivery."""
    if accepted(job, outcome):
        return Verdict(DeliveryStatus.succeeded, None, None, unavailable=False)
    error = outcome.error or f"HTTP {outcome.status}: {(outcome.excerpt or '')[:200]}"
    down = unavailable(outcome)
    retry_in = next_wait(job, outcome, job.attempts + 1, now)
    if retry_in is not None:
        return Verdict(DeliveryStatus.pending, retry_in, error, down)
    # Retryable but out of tries is dead; refused (a final 4xx) is failed.
    status = DeliveryStatus.dead if retries.is_retryable(outcome.status) \
        else DeliveryStatus.failed
    return Verdict(status, None, error, down)


def unavailable(outcome: Outcome) -> bool:
    """Does this failure say the endpoint is down (not that it refused one event)?"""
    return outcome.status is None or retries.is_retryable(outcome.status) \
        or 200 <= outcome.status < 300


def accepted(job: Job, outcome: Outcome) -> bool:
    """Did the endpoint take the delivery (by the provider's rule for a native body)?"""
    if outcome.status is None:
        return False
    if job.provider is not None:
        adapter = PROVIDERS.get(job.provider)
        if adapter is not None:
            return adapter.accepts_answer(outcome.status, outcome.body)
    return 200 <= outcome.status < 300


def next_wait(job: Job, outcome: Outcome, attempts: int, now: datetime) -> float | None:
    """Return the seconds before the next try after ``attempts`` tries, or None: no more."""
    if not unavailable(outcome):
        return None  # a 4xx other than 408/429 is final
    wait = retries.parse_policy(job.policy).next_wait(attempts)
    if wait is None:
        return None
    later = retries.retry_after(outcome.retry_after, now) if outcome.status == 429 else None
    return max(wait, later or 0.0)


def note_failure(endpoint: Endpoint, now: datetime) -> None:
    """Count a failed delivery against ``endpoint``: disable it once it failed too long."""
    if endpoint.failing_since is None:
        endpoint.failing_since = now
    elif now - endpoint.failing_since >= DISABLE_AFTER and endpoint.enabled:
        endpoint.enabled = False
        endpoint.disabled_reason = (
            f"every delivery failed since {endpoint.failing_since.isoformat()}; "
            "re-enable it with PATCH {\"enabled\": true} once it answers again")
