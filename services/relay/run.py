"""One relay pass: claim due deliveries, send them, record the answers, wake what follows.

A pass waits for its sends up to a patience; sends still under way then are left to
the process's :class:`LateRecorder`, which records them in the background when they
end. So a slow endpoint holds asyncio tasks and connections, never the worker, and
later passes for that endpoint (the process already has sends under way to it) do
not wait at all. Every wake-up (a retry's countdown, a circuit's probe, work a closed
circuit released) goes out after the transaction that decided it commits.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, wait
from dataclasses import dataclass

from dlrhub.config import Settings
from dlrhub.core.collector import collector_paused
from dlrhub.models import utcnow
from dlrhub.services import metrics
from dlrhub.services.relay import lease
from dlrhub.services.relay.jobs import Job, Outcome
from dlrhub.services.relay.policy.circuit import Breaker
from dlrhub.services.relay.transport.http import Sender
from dlrhub.services.runtime import Runtime
from dlrhub.services.wakeups import after_commit

log = logging.getLogger(__name__)

# Deliveries released at once when an endpoint's circuit closes; the sweeper brings
# any beyond this.
RELEASE_LIMIT = 100_000


def breaker_of(settings: Settings) -> Breaker:
    """Return the circuit breaker the settings describe."""
    return Breaker(settings.circuit_threshold, settings.circuit_cooldown,
                   settings.circuit_max_cooldown)


def record(rt: Runtime, breaker: Breaker, jobs: Sequence[Job], results: Sequence[Outcome]
           ) -> lease.FollowUps:
    """Record the attempts; once committed, wake retries, circuit probes and released work."""
    # Paused collector: a batch's records allocate as ingest's do (core/collector.py).
    with collector_paused(), rt.sessions() as session:
        done = lease.record(session, jobs, results, utcnow(), breaker=breaker)
        wake = after_commit(session)
        # Waits are task countdowns, never sleeps in a worker.
        for countdown, planned in done.retries.items():
            wake.deliveries_ready(planned, countdown=countdown)
        for endpoint_id, seconds in done.opened.items():
            wake.endpoint_ready(endpoint_id, countdown=seconds, limit=1)  # the probe
        for endpoint_id in done.closed:
            wake.endpoint_ready(endpoint_id, countdown=0, limit=RELEASE_LIMIT)
        session.commit()
    metrics.record_attempts(done.recorded)  # once committed: what the database holds
    return done


class LateRecorder:
    """Records, in a background thread, the sends a relay pass left under way."""

    def __init__(self, record: Callable[[list[Job], list[Outcome]], object], *,
                 batch: int = 500, linger: float = 0.05) -> None:
        self._record, self._batch, self._linger = record, batch, linger
        self._done: queue.SimpleQueue[tuple[Job, Outcome]] = queue.SimpleQueue()
        self._pending = 0
        self._lock = threading.Lock()
        self._idle = threading.Condition(self._lock)
        threading.Thread(target=self._loop, name="relay-recorder", daemon=True).start()

    def follow(self, job: Job, future: Future[Outcome]) -> None:
        """Record ``job`` once its send ends."""
        with self._lock:
            self._pending += 1
        future.add_done_callback(lambda f: self._done.put((job, f.result())))

    def drain(self, timeout: float) -> bool:
        """Wait until every followed send is recorded; return False on time-out."""
        deadline = time.monotonic() + timeout
        with self._idle:
            while self._pending:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._idle.wait(left)
        return True

    def _loop(self) -> None:
        while True:
            items = [self._done.get()]
            deadline = time.monotonic() + self._linger
            while len(items) < self._batch:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                try:
                    items.append(self._done.get(timeout=left))
                except queue.Empty:
                    break
            try:
                self._record([j for j, _ in items], [o for _, o in items])
            except Exception:  # the lease runs out and the sweeper sends them again
                log.exception("could not record %d relay attempts", len(items))
            with self._idle:
                self._pending -= len(items)
                self._idle.notify_all()


@dataclass
class Relay:
    """What a worker process relays with; its composition root builds one after the fork."""

    rt: Runtime
    sender: Sender
    breaker: Breaker
    late: LateRecorder

    @classmethod
    def build(cls, rt: Runtime) -> Relay:
        """Build the sender, breaker and late recorder of ``rt``'s settings."""
        breaker = breaker_of(rt.settings)
        return cls(rt, Sender(allow_private=rt.settings.allow_private_endpoints), breaker,
                   LateRecorder(lambda jobs, results: record(rt, breaker, jobs, results)))

    def run(self, delivery_ids: Sequence[str]) -> int:
        """Relay the due deliveries among ``delivery_ids``; return how many were sent."""
        rt, sender = self.rt, self.sender
        with collector_paused(), rt.sessions() as session:
            claimed = lease.claim(session, rt.box, delivery_ids, utcnow(),
                                  breaker=self.breaker, inflight=sender.inflight,
                                  lease_slack=rt.settings.relay_lease_slack)
            wake = after_commit(session)
            for countdown, planned in claimed.later.items():
                wake.deliveries_ready(planned, countdown=countdown)
            session.commit()  # the lease: a concurrent run or the sweeper skips these now
        jobs = claimed.jobs
        if not jobs:
            return 0
        # An endpoint this process is still sending to from earlier runs is slow: its new
        # sends go straight to the background.
        slow = {j.endpoint_id for j in jobs if sender.inflight(j.endpoint_id)}
        futures = sender.submit(jobs)
        waited = [f for j, f in zip(jobs, futures, strict=True) if j.endpoint_id not in slow]
        wait(waited, timeout=rt.settings.relay_patience + max(j.delay for j in jobs))
        # Split once: a send that ends from here on is the recorder's, never nobody's.
        finished: list[tuple[Job, Future[Outcome]]] = []
        under_way: list[tuple[Job, Future[Outcome]]] = []
        for job, future in zip(jobs, futures, strict=True):
            (finished if future.done() else under_way).append((job, future))
        for job, future in under_way:
            self.late.follow(job, future)
        if finished:
            record(rt, self.breaker, [j for j, _ in finished], [f.result() for _, f in finished])
        return len(jobs)

    def drain(self, timeout: float) -> bool:
        """Before the process exits: let the sends left under way be recorded."""
        return self.late.drain(timeout)
