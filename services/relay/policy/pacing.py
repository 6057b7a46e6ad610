"""Which of an endpoint's due deliveries go now, and until when the others wait.

The circuit, the process's sends under way and the rate limit decide, in that order.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from dlrhub.models import Endpoint
from dlrhub.services.relay.policy.circuit import Breaker, State
from dlrhub.services.relay.policy.rate_limit import reserve

# A rate-limited endpoint's sends are spread over this window within one task; the
# rest are deferred to their slots with a countdown.
RATE_WINDOW = 1.0
# Sends to one endpoint a process may have under way before it stops claiming more
# for it (they are deferred by the endpoint's timeout).
MAX_INFLIGHT = 512


@dataclass
class Pace:
    """The first ``len(sends)`` deliveries go now, the rest are parked in order.

    ``sends`` holds (delay in s, is the circuit's probe) per delivery sent;
    ``parks`` holds (due again at, a task is scheduled for it) per delivery parked.
    """

    sends: list[tuple[float, bool]] = field(default_factory=list)
    parks: list[tuple[datetime, bool]] = field(default_factory=list)


def pace(endpoint: Endpoint, due: int, now: datetime, breaker: Breaker, busy: int) -> Pace:
    """Decide for ``due`` deliveries of ``endpoint`` (this process sends ``busy`` to it).

    Moves the endpoint's circuit (a probe holds it open) and its rate cursor.
    """
    out = Pace()
    state = breaker.state(endpoint, now)
    if state == State.open:
        # Not woken: the circuit's probe releases them when it succeeds.
        assert endpoint.circuit_open_until is not None
        out.parks = [(endpoint.circuit_open_until, False)] * due
        return out
    if state == State.half_open:
        until = breaker.start_probe(endpoint, now, endpoint.timeout + 5)
        out.sends = [(0.0, True)]
        out.parks = [(until, False)] * (due - 1)
        return out
    if busy >= MAX_INFLIGHT:
        out.parks = [(now + timedelta(seconds=endpoint.timeout), True)] * due
        return out
    if not endpoint.rate_limit:
        out.sends = [(0.0, False)] * due
        return out
    slots, endpoint.rate_cursor = reserve(endpoint.rate_cursor, now, endpoint.rate_limit,
                                          due, window=RATE_WINDOW)
    out.sends = [(max(0.0, (slot - now).total_seconds()), False) for slot in slots]
    # The rest go to the slots after these, as later tasks take them.
    step = timedelta(seconds=1.0 / endpoint.rate_limit)
    out.parks = [(endpoint.rate_cursor + step * i, True) for i in range(due - len(slots))]
    return out
