"""One relay run: claim due deliveries, send them, settle them, schedule what follows.

Plain functions over a :class:`Runtime`, a :class:`~services.sender.Sender` and a
:class:`Queue` (the task queue, abstracted), so the Celery task stays a thin shell.

A run waits for its sends up to a patience; sends still under way then are left to
the process's :class:`Recorder`, which settles them in the background when they end.
So a slow endpoint holds asyncio tasks and connections, never the worker, and later
runs for that endpoint (the process already has sends under way to it) do not wait
at all.
"""

from __future__ import annotations

import logging
import os
import queue
import threading
import time
from collections.abc import Sequence
from concurrent.futures import Future, wait
from typing import Protocol

from dlrhub.models import utcnow
from dlrhub.services import relay
from dlrhub.services.circuit import Breaker
from dlrhub.services.runtime import Runtime
from dlrhub.services.sender import Job, Outcome, Sender

log = logging.getLogger(__name__)


class Queue(Protocol):
    """What a relay run asks of the task queue."""

    def later(self, countdown: int, planned: list[tuple[str, str]]) -> None:
        """Run the relay for these (endpoint, delivery) pairs in ``countdown`` seconds."""

    def wake_endpoint(self, endpoint_id: str, *, countdown: float, limit: int) -> None:
        """Run the relay for up to ``limit`` of the endpoint's due deliveries."""


def breaker_of(rt: Runtime) -> Breaker:
    """Return the circuit breaker the settings describe."""
    s = rt.settings
    return Breaker(s.circuit_threshold, s.circuit_cooldown, s.circuit_max_cooldown)


def run(rt: Runtime, sender: Sender, tasks: Queue, delivery_ids: Sequence[str]) -> int:
    """Relay the due deliveries among ``delivery_ids``; return how many were sent."""
    breaker = breaker_of(rt)
    with rt.sessions() as session:
        claimed = relay.claim(session, rt.box, delivery_ids, utcnow(), breaker=breaker,
                              inflight=sender.inflight,
                              lease_slack=rt.settings.relay_lease_slack)
        session.commit()  # the lease: a concurrent run or the sweeper skips these now
    for countdown, planned in claimed.later.items():
        tasks.later(countdown, planned)
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
    recorder = process_recorder(rt, tasks)
    for job, future in under_way:
        recorder.follow(job, future)
    if finished:
        settle(rt, tasks, [j for j, _ in finished], [f.result() for _, f in finished],
               breaker)
    return len(jobs)


def settle(rt: Runtime, tasks: Queue, jobs: Sequence[Job], outcomes: Sequence[Outcome],
           breaker: Breaker) -> relay.Recorded:
    """Record the attempts, then schedule retries, circuit probes and released work."""
    with rt.sessions() as session:
        done = relay.record(session, jobs, outcomes, utcnow(), breaker=breaker)
        session.commit()
    # Waits are task countdowns, never sleeps in a worker.
    for countdown, planned in done.retries.items():
        tasks.later(countdown, planned)
    for endpoint_id, seconds in done.opened.items():
        tasks.wake_endpoint(endpoint_id, countdown=seconds, limit=1)  # the probe
    for endpoint_id in done.closed:
        tasks.wake_endpoint(endpoint_id, countdown=0, limit=RELEASE_LIMIT)
    return done


# Deliveries released at once when an endpoint's circuit closes; the sweeper brings
# any beyond this.
RELEASE_LIMIT = 100_000


class Recorder:
    """Settles, in a background thread, the sends a relay run left under way."""

    def __init__(self, rt: Runtime, tasks: Queue, *, batch: int = 500,
                 linger: float = 0.05) -> None:
        self._rt, self._tasks, self._batch, self._linger = rt, tasks, batch, linger
        self._done: queue.SimpleQueue[tuple[Job, Outcome]] = queue.SimpleQueue()
        self._pending = 0
        self._lock = threading.Lock()
        self._idle = threading.Condition(self._lock)
        threading.Thread(target=self._loop, name="relay-recorder", daemon=True).start()

    def follow(self, job: Job, future: Future[Outcome]) -> None:
        """Settle ``job`` once its send ends."""
        with self._lock:
            self._pending += 1
        future.add_done_callback(lambda f: self._done.put((job, f.result())))

    def drain(self, timeout: float) -> bool:
        """Wait until every followed send is settled; return False on time-out."""
        deadline = time.monotonic() + timeout
        with self._idle:
            while self._pending:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._idle.wait(left)
        return True

    def _loop(self) -> None:
        breaker = breaker_of(self._rt)
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
                settle(self._rt, self._tasks, [j for j, _ in items], [o for _, o in items],
                       breaker)
            except Exception:  # the lease runs out and the sweeper sends them again
                log.exception("could not record %d relay attempts", len(items))
            with self._idle:
                self._pending -= len(items)
                self._idle.notify_all()


_recorders: dict[int, Recorder] = {}
_recorders_lock = threading.Lock()


def process_recorder(rt: Runtime, tasks: Queue) -> Recorder:
    """Return this process's recorder, started on first use."""
    with _recorders_lock:
        recorder = _recorders.get(os.getpid())
        if recorder is None:
            recorder = _recorders[os.getpid()] = Recorder(rt, tasks)
        return recorder


def drain_process_recorder(timeout: float) -> bool:
    """Before a worker process exits: let the sends it left under way be recorded."""
    recorder = _recorders.get(os.getpid())
    return recorder is None or recorder.drain(timeout)
