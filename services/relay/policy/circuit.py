"""A circuit breaker per endpoint: park its deliveries while it keeps failing.

Closed: every due delivery is sent. After ``threshold`` failed attempts in a row the
circuit opens for a cool-down (``base`` seconds, doubling each time it opens again, up
to ``ceiling``): the endpoint's deliveries are parked, not sent, so no worker waits
on a dead endpoint and no attempt of a delivery's retry policy is spent on it. When
the cool-down is over the circuit is half-open: one delivery goes as a probe while
the others stay parked; its success closes the circuit and releases them all, its
failure opens the circuit again for longer.

Only failures that say the endpoint is unavailable count (no answer, a timeout, 408,
429, 5xx, or a native answer the provider would retry): a final 4xx is the endpoint
answering, about one event.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from dlrhub.models import Endpoint


class State(StrEnum):
    """Where an endpoint's circuit is."""

    closed = "closed"
    open = "open"
    half_open = "half_open"


@dataclass(frozen=True)
class Breaker:
    """How many failures open the circuit, and for how long (seconds)."""

    threshold: int = 5
    base: float = 5.0
    ceiling: float = 600.0

    def cooldown(self, trips: int) -> float:
        """Return the cool-down after the circuit opened for the ``trips``-th time."""
        return float(min(self.ceiling, self.base * 2 ** max(0, min(trips - 1, 20))))

    def state(self, endpoint: Endpoint, now: datetime) -> State:
        """Return the circuit's state at ``now``."""
        if endpoint.circuit_open_until is not None and endpoint.circuit_open_until > now:
            return State.open
        if endpoint.consecutive_failures >= self.threshold:
            return State.half_open
        return State.closed

    def start_probe(self, endpoint: Endpoint, now: datetime, lease: float) -> datetime:
        """Hold the circuit open while one probe is out; return until when."""
        until = now + timedelta(seconds=lease)
        endpoint.circuit_open_until = until
        return until

    def succeeded(self, endpoint: Endpoint) -> bool:
        """Close the circuit; return True if it had been open (parked work to release)."""
        was_open = endpoint.circuit_trips > 0
        # Only what changes: each assignment to a mapped attribute costs the ORM's
        # bookkeeping, and a pass of 100 successes makes 100 calls.
        if endpoint.consecutive_failures:
            endpoint.consecutive_failures = 0
        if was_open:
            endpoint.circuit_trips = 0
        if endpoint.circuit_open_until is not None:
            endpoint.circuit_open_until = None
        return was_open

    def failed(self, endpoint: Endpoint, now: datetime, *, probe: bool) -> datetime | None:
        """Count a failure; return until when the circuit opened, if it opened now.

        A failure while the circuit is already open (a send that started before it
        opened) does not lengthen the cool-down; a failed probe always does.
        """
        endpoint.consecutive_failures += 1
        already_open = endpoint.circuit_open_until is not None \
            and endpoint.circuit_open_until > now
        if endpoint.consecutive_failures < self.threshold or (already_open and not probe):
            return None
        endpoint.circuit_trips += 1
        until = now + timedelta(seconds=self.cooldown(endpoint.circuit_trips))
        endpoint.circuit_open_until = until
        return until
