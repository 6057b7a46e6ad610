"""Opt-in OpenTelemetry tracing: ``configure_tracing(settings, service_name)``.

Tracing is on when ``DLRHUB_OTEL_ENDPOINT`` is set, or when the standard variables ask
for it (``OTEL_EXPORTER_OTLP_ENDPOINT``, ``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT``, or
``OTEL_TRACES_EXPORTER`` other than ``none``), and ``OTEL_SDK_DISABLED`` is not true.
Off, this module decides so from the environment and imports nothing of OpenTelemetry;
on, ``config/otel.py`` sets it up. What a span may hold is decided there too: never a
callback token, a query string, a phone number or a body.

The product's code reaches tracing only through the hooks below (:func:`span`,
:func:`capture`, :func:`carried`, :func:`headers`): no-ops of a function call or two
until ``configure_tracing`` installs ``config/otel.py``'s. The callback path and the
relay pay nothing for a feature that is off.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from contextlib import AbstractContextManager
from typing import Any, Protocol

from dlrhub.config.settings import Settings

API, WORKER, BEAT = "dlrhub-api", "dlrhub-worker", "dlrhub-beat"

_ASKING = ("OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")

Attribute = str | int | float | bool


class Span(Protocol):
    """The part of a span that dlrhub's code writes to."""

    def set_attribute(self, key: str, value: Attribute) -> None:
        """Record one attribute on the span."""


class _NoSpan:
    """The span of tracing that is off: it records nothing."""

    def set_attribute(self, key: str, value: Attribute) -> None:
        """Record nothing."""


class _NoSpanContext:
    """A reusable context manager yielding :data:`NO_SPAN` (cheaper than a generator)."""

    def __enter__(self) -> Span:
        return NO_SPAN

    def __exit__(self, *_: object) -> None:
        return None


NO_SPAN: Span = _NoSpan()
_NO_SPAN_CONTEXT = _NoSpanContext()


class Hooks:
    """What the product's code asks of tracing; this base class does nothing (off)."""

    enabled = False

    def span(self, name: str, attributes: Mapping[str, Attribute]
             ) -> AbstractContextManager[Span]:
        """Return a context manager for a span named ``name``, current while it runs."""
        return _NO_SPAN_CONTEXT

    def capture(self) -> object | None:
        """Return the current trace context, to carry to another thread (None: none)."""
        return None

    def carried(self, contexts: Sequence[object | None], name: str
                ) -> AbstractContextManager[Span]:
        """Run a block in a span that continues the first of ``contexts`` and links the rest."""
        return _NO_SPAN_CONTEXT

    def headers(self) -> dict[str, str] | None:
        """Return the current trace context as task message headers (None: none)."""
        return None

    def middleware(self) -> list[Any]:
        """Return the Falcon middleware the API adds when traced (none while off)."""
        return []


_hooks = Hooks()


def install(hooks: Hooks) -> None:
    """Make ``hooks`` the process's tracing hooks (``config/tracing.py`` does, when on)."""
    global _hooks
    _hooks = hooks


def hooks() -> Hooks:
    """Return the process's tracing hooks (those that do nothing while tracing is off)."""
    return _hooks


def span(name: str, attributes: Mapping[str, Attribute]) -> AbstractContextManager[Span]:
    """Return :meth:`Hooks.span` of the process's hooks."""
    return _hooks.span(name, attributes)


def capture() -> object | None:
    """Return :meth:`Hooks.capture` of the process's hooks."""
    return _hooks.capture()


def carried(contexts: Sequence[object | None], name: str) -> AbstractContextManager[Span]:
    """Return :meth:`Hooks.carried` of the process's hooks."""
    return _hooks.carried(contexts, name)


def headers() -> dict[str, str] | None:
    """Return :meth:`Hooks.headers` of the process's hooks."""
    return _hooks.headers()


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
