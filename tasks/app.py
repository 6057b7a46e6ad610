"""The Celery application: configuration, queues, the schedules of the sweep, alerts, purge.

Tasks are registered by the worker's composition root (``tasks.worker``): the API
builds this app only to send tasks by name, and so never loads the relay's sender.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from celery import Celery

from dlrhub.config import Settings

INGEST_MANY = "dlrhub.ingest_many"
SWEEP = "dlrhub.sweep"
ALERTS = "dlrhub.alerts"
OPS = "dlrhub.ops"
# Alert rules are evaluated this often at least (more often with a shorter sweep).
ALERTS_INTERVAL = 60.0
PURGE = "dlrhub.purge"
RELAY = "dlrhub.relay"
RELAY_ENDPOINT = "dlrhub.relay_endpoint"
INGEST_QUEUE = "ingest"
RELAY_QUEUE = "relay"

log = logging.getLogger(__name__)


def broker_options(settings: Settings) -> dict[str, Any]:
    """Return the transport options of the configured broker."""
    if settings.embedded_broker:
        folder = settings.broker_dir
        (folder / "queue").mkdir(parents=True, exist_ok=True)
        (folder / "control").mkdir(parents=True, exist_ok=True)
        return {
            "data_folder_in": str(folder / "queue"),
            "data_folder_out": str(folder / "queue"),
            "control_folder": str(folder / "control"),
            "store_processed": False,
            # kombu polls the folder once a second by default: up to a second of
            # latency per hop (callback -> ingest -> relay). Listing it 10 times a
            # second costs little.
            "polling_interval": 0.1,
        }
    # An unacknowledged message comes back after this long; the sweeper is faster.
    return {"visibility_timeout": 3600}


def create_celery(settings: Settings) -> Celery:
    """Build the Celery app of ``settings`` (no task registered: it sends them by name)."""
    app = Celery("dlrhub", broker=settings.effective_broker_url, set_as_current=False)
    if settings.embedded_broker:
        # kombu's file-system transport, but with whole messages only (tasks/filebroker).
        app.conf.broker_transport = "dlrhub.tasks.filebroker:Transport"
    app.conf.update(
        broker_transport_options=broker_options(settings),
        broker_connection_retry_on_startup=True,
        task_serializer="json",
        accept_content=["json"],
        task_ignore_result=True,
        result_backend=None,
        # A task is acknowledged after it ran, and given back if its worker dies: with
        # idempotent tasks that turns a crash into a repeat, never a loss.
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        # One task reserved ahead per process: an ingest task never waits behind a
        # row of prefetched relay tasks (or the other way round).
        worker_prefetch_multiplier=1,
        # Ingest and relay have queues of their own: a relay backlog (an endpoint
        # that was down for an hour) never delays callbacks becoming receipts.
        task_default_queue=INGEST_QUEUE,
        task_routes={RELAY: {"queue": RELAY_QUEUE}, RELAY_ENDPOINT: {"queue": RELAY_QUEUE}},
        worker_hijack_root_logger=False,
        beat_schedule={
            "sweep-inbox": {"task": SWEEP, "schedule": settings.sweep_interval},
            "evaluate-alerts": {"task": ALERTS,
                                "schedule": min(ALERTS_INTERVAL, settings.sweep_interval)},
            "watch-operations": {"task": OPS,
                                 "schedule": min(ALERTS_INTERVAL, settings.sweep_interval)},
            # Retention (services/retention.py): each run stops at DLRHUB_PURGE_BUDGET.
            "purge-expired": {"task": PURGE, "schedule": settings.purge_interval},
        },
        beat_schedule_filename=str((settings.data_dir / "celerybeat-schedule").resolve()),
        timezone="UTC",
    )
    return app


QUEUES = (INGEST_QUEUE, RELAY_QUEUE)


def queue_length(app: Any, name: str) -> int:
    """Return how many messages wait in the broker queue ``name`` (0 if unknown)."""
    # A broker that cannot tell: sweep as if the queue were empty.
    return queue_depths(app, [name])[name] or 0


def queue_depths(app: Any, names: Sequence[str]) -> dict[str, int | None]:
    """Return how many messages wait in each broker queue of ``names`` (None: unknown).

    One connection for all of them, tried once: /metrics asks at every scrape and must
    not wait out a broker that is away.
    """
    depths: dict[str, int | None] = dict.fromkeys(names)
    try:
        with app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=0, timeout=2)
            channel = conn.default_channel
            for name in names:
                depths[name] = _message_count(channel, name, conn.channel_errors)
    except Exception:  # a broker that cannot tell
        log.debug("could not read the length of queues %s", names, exc_info=True)
    return depths


def _message_count(channel: Any, name: str, not_found: tuple[type[Exception], ...]) -> int:
    try:
        return int(channel.queue_declare(queue=name, passive=True).message_count)
    except not_found:
        # Redis keeps no empty list: a queue with nothing in it is not found.
        return 0
