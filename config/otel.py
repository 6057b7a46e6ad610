"""Tracing through OpenTelemetry, imported only when it is on (``config/tracing.py``).

One TracerProvider per process, its spans batched to an OTLP/HTTP receiver, with the
maintained instrumentations: Falcon (the API's requests), SQLAlchemy (statements;
engines made after :func:`start`), aiohttp's client (the relay's sends) and, in the
worker and beat, Celery (tasks run and sent). The API carries the trace context into
the ingest tasks it sends itself (:class:`OtelHooks`): its sends happen on the
enqueuer's thread, for many callbacks at once, and send tasks by name.

Whatever an instrumentation records, :class:`Redacting` rewrites each span before it
leaves the process: a callback path's token becomes ``***``, URLs lose their query
strings (receipt filters, GET callbacks' records), and an exception's message loses
anything shaped like a phone number.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Mapping, Sequence
from contextlib import AbstractContextManager
from typing import Any

import falcon
from opentelemetry import context as otel_context
from opentelemetry import propagate, trace
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.instrumentation.aiohttp_client import AioHttpClientInstrumentor
from opentelemetry.instrumentation.falcon import FalconInstrumentor
from opentelemetry.instrumentation.sqlalchemy import SQLAlchemyInstrumentor
from opentelemetry.sdk.resources import SERVICE_NAME, Resource
from opentelemetry.sdk.trace import Event, ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult

from dlrhub import __version__
from dlrhub.config import tracing
from dlrhub.config.redaction import mask_callback_tokens

# Attributes that hold a URL, a path or a query string, in the old and the stable
# HTTP semantic conventions.
URL_KEYS = frozenset({"http.url", "http.target", "url.full", "url.path", "url.original"})
DROPPED_KEYS = frozenset({"url.query", "http.query"})
# A run of digits as long as a phone number, with or without its "+".
_PHONE = re.compile(r"\+?\d[\d ().-]{6,}\d")
# Links from one ingest task to the callbacks it carries beyond its parent.
MAX_LINKS = 64
CALLBACK_ROUTE = "/v1/callbacks/{provider}/{token}"

_started = threading.Lock()
_provider: TracerProvider | None = None


def start(endpoint: str | None, service_name: str, *, celery: bool) -> None:
    """Install the tracer provider, the instrumentations and dlrhub's hooks (once)."""
    global _provider
    with _started:
        if _provider is not None:
            return
        provider = TracerProvider(resource=Resource.create(
            {SERVICE_NAME: service_name, "service.version": __version__}))
        exporter = OTLPSpanExporter(endpoint=traces_url(endpoint)) if endpoint \
            else OTLPSpanExporter()
        provider.add_span_processor(BatchSpanProcessor(Redacting(exporter)))
        trace.set_tracer_provider(provider)
        _provider = provider
        FalconInstrumentor().instrument(tracer_provider=provider,
                                        response_hook=describe_request)
        # Declared for SQLAlchemy < 2.1; the events it listens to are the same in 2.1.
        SQLAlchemyInstrumentor().instrument(tracer_provider=provider, skip_dep_check=True)
        AioHttpClientInstrumentor().instrument(tracer_provider=provider,
                                               url_filter=without_query)
        if celery:
            from opentelemetry.instrumentation.celery import CeleryInstrumentor

            CeleryInstrumentor().instrument(tracer_provider=provider)
        tracing.install(OtelHooks(provider.get_tracer("dlrhub", __version__)))


def flush(timeout_millis: int = 5000) -> bool:
    """Export the spans still batched (before a process exits); True if all went."""
    return _provider.force_flush(timeout_millis) if _provider is not None else True


def traces_url(endpoint: str) -> str:
    """Return the traces URL of an OTLP/HTTP receiver's base URL (or of a traces URL)."""
    endpoint = endpoint.rstrip("/")
    return endpoint if endpoint.endswith("/v1/traces") else f"{endpoint}/v1/traces"


def without_query(url: Any) -> str:
    """Return ``url`` (a ``yarl.URL``) without its query string and fragment."""
    return str(url.with_query(None).with_fragment(None))


def describe_request(span: Any, req: falcon.Request, resp: falcon.Response) -> None:
    """Falcon's response hook: a callback's provider and outcome (never its token)."""
    if req.uri_template != CALLBACK_ROUTE or not span.is_recording():
        return
    parts = req.path.split("/")
    if len(parts) > 3:
        span.set_attribute("dlrhub.provider", parts[3][:64])
    outcome = getattr(req.context, "callback_outcome", None)
    if outcome is not None:
        span.set_attribute("dlrhub.callback.outcome", str(outcome))


def scrub_attributes(attributes: Mapping[str, Any], *, phones: bool = False
                     ) -> dict[str, Any] | None:
    """Return ``attributes`` made safe to export, or None if nothing needed changing."""
    changed = False
    safe: dict[str, Any] = {}
    for key, value in attributes.items():
        if key in DROPPED_KEYS:
            changed = True
            continue
        new = value
        if isinstance(value, str):
            if key in URL_KEYS:
                new = value.split("?", 1)[0].split("#", 1)[0]
            new = _mask_tokens(new)
            if phones:
                new = _PHONE.sub("***", new)
        changed = changed or new != value
        safe[key] = new
    return safe if changed else None


def _mask_tokens(text: str) -> str:
    # The route's template (http.route, a span's name) names the token, holds none.
    if CALLBACK_ROUTE in text:
        return text
    return mask_callback_tokens(text)


class Redacting(SpanExporter):
    """Export through ``exporter`` spans that hold no token, query string or phone number."""

    def __init__(self, exporter: SpanExporter) -> None:
        self._exporter = exporter

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        """Export ``spans``, each rewritten where it needs to be."""
        return self._exporter.export([redacted(span) for span in spans])

    def shutdown(self) -> None:
        """Shut the wrapped exporter down."""
        self._exporter.shutdown()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        """Flush the wrapped exporter."""
        return self._exporter.force_flush(timeout_millis)


def redacted(span: ReadableSpan) -> ReadableSpan:
    """Return ``span``, or a copy whose name, attributes and events are made safe."""
    name = _mask_tokens(span.name)
    attributes = scrub_attributes(span.attributes or {})
    events, events_changed = [], False
    for event in span.events:
        safe = scrub_attributes(event.attributes or {}, phones=True)
        events.append(event if safe is None else Event(event.name, safe, event.timestamp))
        events_changed = events_changed or safe is not None
    if name == span.name and attributes is None and not events_changed:
        return span
    return ReadableSpan(
        name, context=span.context, parent=span.parent, resource=span.resource,
        attributes=attributes if attributes is not None else span.attributes,
        events=events, links=span.links, kind=span.kind, status=span.status,
        start_time=span.start_time, end_time=span.end_time,
        instrumentation_scope=span.instrumentation_scope)


class OtelHooks(tracing.Hooks):
    """dlrhub's tracing hooks (core/tracing.py) done with OpenTelemetry."""

    enabled = True

    def __init__(self, tracer: trace.Tracer) -> None:
        self._tracer = tracer

    def span(self, name: str, attributes: Mapping[str, tracing.Attribute]
             ) -> AbstractContextManager[tracing.Span]:
        """Start a span, current for the block."""
        return self._tracer.start_as_current_span(name, attributes=dict(attributes))

    def capture(self) -> object | None:
        """Return the current context (to hand to another thread)."""
        return otel_context.get_current()

    def carried(self, contexts: Sequence[object | None], name: str
                ) -> AbstractContextManager[tracing.Span]:
        """Start a span continuing the first context of ``contexts``, linking the others."""
        present = [c for c in contexts if isinstance(c, otel_context.Context)]
        links = []
        for other in present[1:MAX_LINKS + 1]:
            linked = trace.get_current_span(other).get_span_context()
            if linked.is_valid:
                links.append(trace.Link(linked))
        return self._tracer.start_as_current_span(
            name, context=present[0] if present else None, links=links,
            kind=trace.SpanKind.PRODUCER, attributes={"dlrhub.callbacks": len(contexts)})

    def headers(self) -> dict[str, str] | None:
        """Return the current context as message headers (W3C trace context)."""
        carrier: dict[str, str] = {}
        propagate.inject(carrier)
        return carrier or None

    def middleware(self) -> list[Any]:
        """Return :class:`TextStatus`, which Falcon's instrumentation needs."""
        return [TextStatus()]


class TextStatus:
    """Give Falcon's instrumentation the status line it expects ("201 Created").

    dlrhub sets ``resp.status`` to an int, which Falcon 4 accepts and the
    instrumentation cannot read. Its middleware's ``process_response`` runs last.
    """

    def process_response(self, req: falcon.Request, resp: falcon.Response, resource: Any,
                         req_succeeded: bool) -> None:
        """Turn an int status into its status line."""
        if isinstance(resp.status, int):
            resp.status = falcon.code_to_http_status(resp.status)
