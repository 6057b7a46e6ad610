"""The Celery entry point: ``celery -A tasks.worker worker``."""

import gc
from typing import Any

from celery.signals import (
    beat_init,
    setup_logging,
    worker_init,
    worker_process_init,
    worker_process_shutdown,
)

from dlrhub.config import configure_logging, get_settings
from dlrhub.tasks.app import create_celery
from dlrhub.tasks.beatlock import hold_beat_lock

app = create_celery(get_settings())


@setup_logging.connect  # type: ignore[untyped-decorator]
def _configure_logging(**_: Any) -> None:
    settings = get_settings()
    configure_logging(settings.log_level, json=settings.log_json)


@worker_init.connect  # type: ignore[untyped-decorator]
def _serve_metrics(**_: Any) -> None:
    port = get_settings().worker_metrics_port
    if port:
        from dlrhub.services.metrics import serve_worker_metrics

        serve_worker_metrics(port)


@beat_init.connect  # type: ignore[untyped-decorator]
def _be_the_only_beat(**_: Any) -> None:
    hold_beat_lock((get_settings().data_dir / "celerybeat.lock").resolve())


@worker_process_init.connect  # type: ignore[untyped-decorator]
def _freeze_startup_objects(**_: Any) -> None:
    # As in api/wsgi.py: what the pool process inherited never needs collecting.
    gc.collect()
    gc.freeze()


@worker_process_shutdown.connect  # type: ignore[untyped-decorator]
def _record_what_is_under_way(**_: Any) -> None:
    # Sends a relay task left to finish in the background are recorded before the
    # process goes (a warm shutdown); a kill leaves them to their lease and the sweeper.
    from dlrhub.services.dispatch import drain_process_recorder

    drain_process_recorder(timeout=15)
