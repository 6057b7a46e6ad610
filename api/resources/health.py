"""``/healthz``, ``/readyz`` and ``/metrics``."""

from __future__ import annotations

from collections.abc import Callable, Mapping

import falcon
from sqlalchemy import Engine

from dlrhub.api.openapi import operation
from dlrhub.models import utcnow
from dlrhub.services import metrics, system


class Health:
    """Answer 200 while the process serves requests."""

    @operation("Liveness", auth="public", tag="meta")
    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        """Say the process is alive."""
        resp.media = {"status": "ok"}


class Ready:
    """Answer 200 when the database and the broker can be reached, else 503."""

    def __init__(self, engine: Engine, broker_check: Callable[[], None]) -> None:
        self._engine = engine
        self._broker_check = broker_check

    @operation("Readiness: database and broker", auth="public", tag="meta",
               description="200 when the database and the broker answer, else 503. "
                           "`workers` says whether a worker process recorded a heartbeat "
                           "in the last 2 minutes; it never fails readiness, since the API "
                           "keeps every callback whether or not a worker is up.")
    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        """Check the database and the broker."""
        checks = system.readiness(self._engine, self._broker_check)
        ready = all(v == system.OK for v in checks.values())
        resp.status = 200 if ready else 503
        # The workers are reported, not checked: see system.workers_check.
        resp.media = {"status": "ready" if ready else "unavailable", "checks": checks,
                      "workers": system.workers_check(self._engine, utcnow())}


class Metrics:
    """Expose the Prometheus metrics."""

    def __init__(self, engine: Engine,
                 queue_depths: Callable[[], Mapping[str, int | None]] | None = None) -> None:
        self._engine = engine
        self._queue_depths = queue_depths

    @operation("Prometheus metrics", auth="public", tag="meta")
    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        """Render every metric in the text format."""
        resp.content_type = "text/plain; version=0.0.4; charset=utf-8"
        resp.data = metrics.render(self._engine, self._queue_depths)
