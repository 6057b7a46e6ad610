"""POST deliveries from one long-lived event loop per process, over pooled connections.

The requests go out through the relay's own HTTP/1.1 client (``transport.wire``), or
through aiohttp while tracing is on.

A relay task hands its jobs to the process's :class:`Sender` and gets a future per job.
The loop runs in a thread of its own, so connections stay open between tasks (no TCP
or TLS handshake per task) and a slow endpoint only holds asyncio tasks, never the
Celery worker: the relay task waits for its futures a short while and leaves the
stragglers to finish (and be recorded) in the background.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections import Counter
from concurrent.futures import Future
from functools import partial

import aiohttp
import uvloop
from yarl import URL

from dlrhub.config import tracing
from dlrhub.services.errors import InvalidInput
from dlrhub.services.relay.jobs import Job, Outcome
from dlrhub.services.relay.transport.addresses import check_literal
from dlrhub.services.relay.transport.resolver import GuardedResolver
from dlrhub.services.relay.transport.wire import EXCERPT, KEEPALIVE, Client

# Connections open at once per process, and per endpoint host (a slow endpoint gets
# no more than its share; its requests queue inside their own timeout).
CONNECTIONS = 256
PER_HOST = 64


def target(job: Job) -> URL:
    """Return the URL a job is sent to: the endpoint's, then a relayed query as it came.

    The query is appended already encoded: re-encoding it (``%3A`` to ``:``) would change
    what a provider's receiver signs or parses.
    """
    url = URL(job.url)
    if not job.query:
        return url
    base = str(url)
    return URL(base + ("&" if url.query_string else "?") + job.query, encoded=True)


class Sender:
    """A process's HTTP client for the relay: submit jobs, get futures of outcomes.

    Build one per process (its loop thread does not survive a fork); the worker's
    composition root does, after the pool forks.
    """

    def __init__(self, *, allow_private: bool) -> None:
        self.allow_private = allow_private
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._http: aiohttp.ClientSession | None = None
        self._wire: Client | None = None
        self._resolver: GuardedResolver | None = None
        self._inflight: Counter[str] = Counter()
        self._thread: threading.Thread | None = None

    def submit(self, jobs: list[Job]) -> list[Future[Outcome]]:
        """Start sending every job now; return one future per job, in order.

        The whole batch crosses to the loop's thread in one hand-over: one per job
        (``run_coroutine_threadsafe``) woke the loop and chained two futures per
        delivery, a tenth of the relay's CPU at batch_size 1 (bench/relay_pass.py).
        """
        loop = self._start()
        futures: list[Future[Outcome]] = [Future() for _ in jobs]
        with self._lock:
            for job in jobs:
                self._inflight[job.endpoint_id] += 1
        # The sends' tasks run in a copy of this thread's context (a trace's parent span).
        loop.call_soon_threadsafe(self._start_sends, jobs, futures)
        return futures

    def inflight(self, endpoint_id: str) -> int:
        """Return how many sends to ``endpoint_id`` this process has under way."""
        with self._lock:
            return self._inflight[endpoint_id]

    def send(self, jobs: list[Job]) -> list[Outcome]:
        """Send every job and wait for all the outcomes."""
        return [future.result() for future in self.submit(jobs)]

    def close(self) -> None:
        """Close the connections and stop the loop thread (a test's, or at exit)."""
        with self._lock:
            loop, self._loop = self._loop, None
        if loop is None:
            return
        if self._http is not None:
            asyncio.run_coroutine_threadsafe(self._close(), loop).result(timeout=10)
            self._http = None
        loop.call_soon_threadsafe(loop.stop)
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None
        loop.close()

    def _start_sends(self, jobs: list[Job], futures: list[Future[Outcome]]) -> None:
        for job, future in zip(jobs, futures, strict=True):
            task = asyncio.ensure_future(self._send(job))
            task.add_done_callback(partial(self._settle, job.endpoint_id, future))

    def _settle(self, endpoint_id: str, future: Future[Outcome],
                task: asyncio.Task[Outcome]) -> None:
        self._done(endpoint_id)
        if future.cancelled():
            return
        if task.cancelled():  # the loop closed under it
            future.cancel()
        elif (ex := task.exception()) is not None:
            future.set_exception(ex)
        else:
            future.set_result(task.result())

    def _done(self, endpoint_id: str) -> None:
        with self._lock:
            self._inflight[endpoint_id] -= 1
            if self._inflight[endpoint_id] <= 0:
                del self._inflight[endpoint_id]

    def _start(self) -> asyncio.AbstractEventLoop:
        with self._lock:
            if self._loop is not None:
                return self._loop
            # uvloop (uvicorn's loop, already installed): aiohttp's requests cost about
            # a tenth less CPU on it (bench/http_clients.md, bench/relay_pass.py).
            loop = uvloop.new_event_loop()
            self._thread = threading.Thread(target=loop.run_forever, name="relay-sender",
                                            daemon=True)
            self._thread.start()
            asyncio.run_coroutine_threadsafe(self._open(), loop).result(timeout=10)
            self._loop = loop
            return loop

    async def _open(self) -> None:
        # The guard resolves names at connect time, so a name re-pointed at a private
        # address after the endpoint was saved (DNS rebinding) is refused.
        self._resolver = GuardedResolver(allow_private=self.allow_private)
        connector = aiohttp.TCPConnector(limit=CONNECTIONS, limit_per_host=PER_HOST,
                                         resolver=self._resolver, keepalive_timeout=KEEPALIVE)
        self._http = aiohttp.ClientSession(connector=connector, trust_env=False,
                                           auto_decompress=False)
        self._wire = Client(self._resolver, connections=CONNECTIONS, per_host=PER_HOST)

    async def _close(self) -> None:
        if self._wire is not None:
            self._wire.close()
        if self._http is not None:
            await self._http.close()

    async def _send(self, job: Job) -> Outcome:
        # The send's span, if traced: the relay task's child (the context came along with
        # the coroutine), parent of aiohttp's own span of the POST.
        with tracing.span("relay send", {"dlrhub.endpoint_id": job.endpoint_id,
                                         "dlrhub.delivery_id": job.delivery_id}) as span:
            outcome = await self._post(job)
            if outcome.status is not None:
                span.set_attribute("http.response.status_code", outcome.status)
            if outcome.error is not None:  # its kind only: the text may quote the URL
                span.set_attribute("error.type", outcome.error.split(":", 1)[0][:64])
            return outcome

    async def _post(self, job: Job) -> Outcome:
        if job.delay > 0:
            await asyncio.sleep(job.delay)
        started = time.perf_counter()
        try:
            check_literal(job.url, allow_private=self.allow_private)
        except InvalidInput as ex:
            return Outcome(None, 0.0, f"refused: {ex.detail}", None, None)
        assert self._http is not None
        assert self._wire is not None
        try:
            if not tracing.hooks().enabled:
                # The relay's own client (transport.wire): the same request for less CPU.
                async with asyncio.timeout(job.timeout):  # waiting for a connection too
                    answer = await self._wire.send(target(job), job.method, job.headers,
                                                   job.body)
                return Outcome(answer.status, (time.perf_counter() - started) * 1000, None,
                               answer.excerpt.decode("utf-8", "replace"), answer.retry_after,
                               answer.excerpt)
            # Traced: aiohttp, whose instrumentation makes the POST's span and carries
            # the trace to the endpoint. total covers waiting for a pooled connection
            # too: a job queued behind a slow endpoint's requests gives up within its
            # own timeout.
            async with self._http.request(
                    job.method, target(job), data=job.body, headers=job.headers,
                    allow_redirects=False,
                    timeout=aiohttp.ClientTimeout(total=job.timeout)) as resp:
                body = await resp.content.read(EXCERPT)
                return Outcome(resp.status, (time.perf_counter() - started) * 1000, None,
                               body.decode("utf-8", "replace"),
                               resp.headers.get("Retry-After"), body)
        except Exception as ex:  # every failure is an outcome to record, never lost
            reason = "timeout" if isinstance(ex, TimeoutError) \
                else f"{type(ex).__name__}: {ex}"
            return Outcome(None, (time.perf_counter() - started) * 1000, reason[:500],
                           None, None)
