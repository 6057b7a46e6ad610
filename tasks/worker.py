"""The worker's composition root and Celery entry point: ``celery -A tasks.worker worker``.

It builds the Celery app, registers the tasks, and builds each pool process's parts
(:class:`~tasks.process.Process`) once, after the fork; the tasks get them from here.
"""

import contextlib
import gc
import os
import sys
from collections.abc import Callable
from typing import Any, cast

from celery import Celery
from celery.signals import (
    beat_init,
    setup_logging,
    worker_init,
    worker_process_init,
    worker_process_shutdown,
)

from dlrhub.config import configure_logging, get_settings
from dlrhub.config.logging import json_line, log_ids
from dlrhub.config.tracing import BEAT, WORKER, configure_tracing, hooks
from dlrhub.tasks import alerts, expectations, ingest, ops, purge, relay
from dlrhub.tasks.app import (
    ALERTS,
    INGEST_MANY,
    OPS,
    PURGE,
    RELAY,
    RELAY_ENDPOINT,
    SWEEP,
    create_celery,
)
from dlrhub.tasks.beatlock import hold_beat_lock
from dlrhub.tasks.process import ProcessSlot

# Celery's decorators carry no types: each is given this one, once, through a cast, so
# that the functions below keep theirs.
Decorator = Callable[[Callable[..., Any]], Any]


def celery_task(app: Celery, **options: Any) -> Decorator:
    """Return ``app.task(**options)``: registers the function it decorates as a task."""
    return cast(Decorator, app.task(**options))


def on_signal(signal: Any) -> Decorator:
    """Return ``signal.connect``: connects the function it decorates to a Celery signal."""
    return cast(Decorator, signal.connect)


def register_tasks(app: Celery, slot: ProcessSlot) -> None:
    """Register every dlrhub task on ``app``, each run with the process's parts."""

    @celery_task(app, name=INGEST_MANY, bind=True, max_retries=None)
    def ingest_many(task: Any, inbox_ids: list[str]) -> None:
        with log_ids(inbox_id=only(inbox_ids)):
            ingest.ingest_many(task, slot.start(), inbox_ids)

    @celery_task(app, name=SWEEP, bind=True)
    def sweep(task: Any) -> int:
        # Lost inbox rows and deliveries first: the expectations' events relay after.
        return ingest.sweep(task, slot.start()) + expectations.sweep(slot.start())

    @celery_task(app, name=ALERTS)
    def evaluate_alerts() -> int:
        return alerts.evaluate(slot.start())

    @celery_task(app, name=OPS)
    def watch_operations() -> int:
        return ops.evaluate(slot.start())

    @celery_task(app, name=PURGE)
    def purge_expired() -> int:
        return purge.purge(slot.start())

    @celery_task(app, name=RELAY, bind=True, max_retries=None)
    def relay_deliveries(task: Any, delivery_ids: list[str]) -> None:
        with log_ids(delivery_id=only(delivery_ids)):
            relay.relay(task, slot.start(), delivery_ids)

    @celery_task(app, name=RELAY_ENDPOINT, bind=True)
    def relay_endpoint(task: Any, endpoint_id: str, limit: int) -> None:
        with log_ids(endpoint_id=endpoint_id):
            relay.relay_endpoint(task, slot.start(), endpoint_id, limit)


app = create_celery(get_settings())
slot = ProcessSlot(get_settings(), app)
register_tasks(app, slot)


def only(ids: list[str]) -> str | None:
    """Return the one id of ``ids``, for the task's log lines; None for a batch."""
    return ids[0] if len(ids) == 1 else None


@on_signal(setup_logging)
def _configure_logging(**_: Any) -> None:
    # Connected, this signal keeps Celery from installing handlers of its own: the
    # worker, its pool and its beat log through dlrhub's (worker_hijack_root_logger
    # is off too).
    settings = get_settings()
    configure_logging(settings.log_level, json=settings.log_json)
    if settings.log_json:
        say_in_json()


def say_in_json() -> None:
    """Make the lines Celery's worker writes itself ("Warm shutdown", ...) JSON too.

    Celery writes them from its signal handlers straight to a file descriptor, past
    logging (``celery.apps.worker.safe_say``); this writes a JSON line the same way.
    The start-up banner is not among them: ``--quiet`` leaves it out (cli/processes).
    """
    from celery.apps import worker as celery_worker

    def say(msg: str, f: Any = sys.__stderr__) -> None:
        line = json_line("WARNING", "celery.apps.worker", str(msg).strip()) + "\n"
        with contextlib.suppress(OSError, AttributeError, ValueError):
            os.write(f.fileno(), line.encode())

    celery_worker.safe_say = say


# Now, as ``celery -A`` imports this module: what Celery says before its logging set-up
# (a warning that it runs as root, say) is dlrhub's format too.
_configure_logging()


@on_signal(worker_init)
def _serve_metrics(**_: Any) -> None:
    port = get_settings().worker_metrics_port
    if port:
        from dlrhub.services.metrics import serve_worker_metrics

        serve_worker_metrics(port)


@on_signal(beat_init)
def _be_the_only_beat(**_: Any) -> None:
    configure_tracing(get_settings(), BEAT, celery=True)
    hold_beat_lock((get_settings().data_dir / "celerybeat.lock").resolve())


@on_signal(worker_process_init)
def _start_process(**_: Any) -> None:
    # As in api/wsgi.py: what the pool process inherited never needs collecting.
    gc.collect()
    gc.freeze()
    # Traced (if on) from here, as the instrumentations ask of a forking pool: the span
    # exporter's thread is the pool process's own, and the engine is made after it.
    configure_tracing(get_settings(), WORKER, celery=True)
    slot.start()  # connections and threads of its own, never its parent's


@on_signal(worker_process_shutdown)
def _record_what_is_under_way(**_: Any) -> None:
    # Sends a relay task left to finish in the background are recorded before the
    # process goes (a warm shutdown); a kill leaves them to their lease and the sweeper.
    slot.stop(timeout=15)
    if hooks().enabled:
        from dlrhub.config import otel

        otel.flush()  # the spans still batched, before the process goes
