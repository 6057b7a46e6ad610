"""Send ingest wake-ups to the broker from a background thread, coalescing under load.

The inbox row is committed before the provider is answered, so the broker only carries
wake-ups: a request never waits on the broker, a broker outage costs only time (the
sweeper re-enqueues what is still pending), and under load many callbacks share one
task instead of paying Celery's per-task cost each.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from typing import Any

from dlrhub.config import tracing
from dlrhub.services import metrics
from dlrhub.tasks.app import INGEST_MANY

log = logging.getLogger(__name__)

# Celery's own retries would stall the sender thread for a long time while the broker
# is down; a short try is enough, the sweeper does the rest.
_RETRY_POLICY = {"max_retries": 2, "interval_start": 0.1, "interval_step": 0.5,
                 "interval_max": 1.0}


class Enqueuer:
    """Collect inbox ids and send them as ``ingest_many`` tasks.

    A task closes at ``max_records`` records or ``max_batch`` callbacks, whichever comes
    first: Celery costs ~4 ms of CPU per task here, so batch-1 traffic should share
    tasks widely, while batch-100 callbacks should not make one huge task that leaves
    the other worker processes idle.
    """

    def __init__(self, celery: Any, *, max_batch: int = 200, max_records: int = 2000,
                 linger: float = 0.1, max_pending: int = 100_000) -> None:
        self._celery = celery
        self._max_batch = max_batch
        self._max_records = max_records
        # How long the first id of a batch waits for company: it bounds the sends (and
        # their CPU) to about 1/linger per process however busy the API gets.
        self._linger = linger
        # Items are (inbox id, records, the callback's trace context or None), or an
        # Event that `flush` waits on. SimpleQueue is the C one: a request thread's put
        # costs a fraction of queue.Queue's.
        self._queue: queue.SimpleQueue[tuple[str, int, object | None] | threading.Event] = \
            queue.SimpleQueue()
        self._max_pending = max_pending
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self.sent_tasks = 0
        self.dropped = 0

    def submit(self, inbox_id: str, records: int = 1) -> None:
        """Queue one inbox id (of a callback with ``records``) for sending; never blocks."""
        self._ensure_started()
        if self._queue.qsize() >= self._max_pending:
            self.dropped += 1  # the sweeper picks it up; the row is safe in the inbox
            metrics.ENQUEUE_DROPPED.inc()
            return
        # The request's trace context rides along to the task (None: tracing is off).
        self._queue.put((inbox_id, max(1, records), tracing.capture()))

    def _ensure_started(self) -> None:
        # Started lazily so that a forking server starts one per worker process.
        if self._thread is None or not self._thread.is_alive():
            with self._lock:
                if self._thread is None or not self._thread.is_alive():
                    self._thread = threading.Thread(target=self._run, name="enqueuer",
                                                    daemon=True)
                    self._thread.start()

    def flush(self, timeout: float = 5.0) -> bool:
        """Wait until every id submitted so far was handed to the broker (or given up)."""
        self._ensure_started()
        done = threading.Event()
        self._queue.put(done)
        return done.wait(timeout)

    def _run(self) -> None:
        while True:
            batch: list[str] = []
            contexts: list[object | None] = []
            weight = 0
            waiters: list[threading.Event] = []
            item = self._queue.get()
            deadline = time.monotonic() + self._linger
            while True:
                if isinstance(item, threading.Event):
                    waiters.append(item)
                    break  # a flush wants what is queued now, not what may come
                batch.append(item[0])
                weight += item[1]
                contexts.append(item[2])
                if len(batch) >= self._max_batch or weight >= self._max_records:
                    break
                try:
                    item = self._queue.get(timeout=max(0.0, deadline - time.monotonic()))
                except queue.Empty:
                    break
            if batch:
                self._send(batch, contexts)
            for waiter in waiters:
                waiter.set()

    def _send(self, batch: list[str], contexts: list[object | None]) -> None:
        try:
            # Traced, the task continues the first callback's trace and links the others.
            with tracing.carried(contexts, f"send {INGEST_MANY}"):
                self._celery.send_task(INGEST_MANY, args=[batch], retry=True,
                                       retry_policy=_RETRY_POLICY, headers=tracing.headers())
            self.sent_tasks += 1
        except Exception:  # any broker failure: the inbox rows wait for the sweeper
            self.dropped += len(batch)
            metrics.ENQUEUE_DROPPED.inc(len(batch))
            log.warning("broker unavailable: %d callbacks left for the sweeper", len(batch),
                        exc_info=True)
