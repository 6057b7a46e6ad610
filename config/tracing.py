"""Opt-in OpenTelemetry tracing: ``configure_tracing(settings, service_name)``.

Tracing is on when ``DLRHUB_OTEL_ENDPOINT`` is set, or when the standard variables ask
for it (``OTEL_EXPORTER_OTLP_ENDPOINT``, ``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT``, or
``OTEL_TRACES_EXPORTER`` other than ``none``), and ``OTEL_SDK_DISABLED`` is not true.
Off, this module decides so from the environment and imports nothing of OpenTelemetry;
on, ``config/otel.py`` sets it up. What a span may hold is decided there too: never a
callback token, a query string, a phone number or a body.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from dlrhub.config.settings import Settings

API, WORKER, BEAT = "dlrhub-api", "dlrhub-worker", "dlrhub-beat"

_ASKING = ("OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")


def tracing_wanted(settings: Settings, environ: Mapping[str, str] | None = None) -> bool:
    """Tell whether ``settings`` and the environment turn tracing on."""
    env = os.environ if environ is None else environ
    if env.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return False
    exporter = env.get("OTEL_TRACES_EXPORTER", "").strip().lower()
    if exporter == "none":
        return False
    return bool(settings.otel_endpoint or exporter or any(env.get(name) for name in _ASKING))


def configure_tracing(settings: Settings, service_name: str, *,
                      celery: bool = False) -> bool:
    """Turn tracing on for this process if it is wanted; return whether it is on.

    ``service_name`` is the process's name in the traces (:data:`API`, :data:`WORKER`,
    :data:`BEAT`). ``celery``: also trace the Celery tasks this process runs and sends
    (the worker and beat; the API carries the context itself, ``tasks/enqueue.py``).
    Call it before the process builds its database engine and its Falcon app, and in
    a worker's pool process after the fork: the exporter's thread does not survive one.
    """
    if not tracing_wanted(settings):
        return False
    from dlrhub.config import otel

    otel.start(settings.otel_endpoint, service_name, celery=celery)
    return True
