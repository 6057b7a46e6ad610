"""Tracing: off unless asked for, and then nothing secret or personal in a span."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from dlrhub.config import Settings
from dlrhub.config.tracing import tracing_wanted

# Builds the API's app and the worker's Celery app as their processes do, then says
# which of the tracing modules got imported. (redis-py imports opentelemetry.sdk.metrics
# for metrics of its own whenever the SDK is installed: not dlrhub's to avoid.)
_BUILD_BOTH = """
import sys
import dlrhub.api.wsgi
import dlrhub.tasks.worker
from dlrhub.config import tracing
print(tracing.hooks().enabled)
print(sorted(m for m in sys.modules if m.startswith((
    "opentelemetry.sdk.trace", "opentelemetry.instrumentation", "opentelemetry.exporter",
    "opentelemetry.propagate", "dlrhub.config.otel"))))
"""


def _clean_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("DLRHUB_", "OTEL_")) and k != "PROMETHEUS_MULTIPROC_DIR"}
    return {**env, "DLRHUB_DATA_DIR": str(tmp_path), **extra}


def test_off_the_api_and_the_worker_import_nothing_of_opentelemetry(tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, "-c", _BUILD_BOTH], env=_clean_env(tmp_path),
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split("\n")[:2] == ["False", "[]"]


def test_on_the_api_is_traced(tmp_path: Path) -> None:
    # Nothing listens there: the spans are dropped, the app is built all the same.
    env = _clean_env(tmp_path, DLRHUB_OTEL_ENDPOINT="http://127.0.0.1:9")
    done = subprocess.run([sys.executable, "-c", _BUILD_BOTH], env=env,
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    enabled, modules = done.stdout.split("\n")[:2]
    assert enabled == "True"
    assert "opentelemetry.sdk.trace" in modules
    assert "opentelemetry.instrumentation.falcon" in modules


@pytest.mark.parametrize(("endpoint", "environ", "wanted"), [
    (None, {}, False),
    ("http://collector:4318", {}, True),
    (None, {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318"}, True),
    (None, {"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://c:4318/v1/traces"}, True),
    (None, {"OTEL_TRACES_EXPORTER": "otlp"}, True),
    (None, {"OTEL_TRACES_EXPORTER": "none", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://c"}, False),
    ("http://collector:4318", {"OTEL_SDK_DISABLED": "true"}, False),
])
def test_tracing_is_on_only_when_a_variable_asks(endpoint: str | None,
                                                 environ: dict[str, str],
                                                 wanted: bool) -> None:
    assert tracing_wanted(Settings(otel_endpoint=endpoint), environ) is wanted


def test_no_token_query_string_or_phone_number_survives_the_scrub() -> None:
    from dlrhub.config.otel import scrub_attributes, traces_url

    scrubbed = scrub_attributes({
        "http.url": "http://h:8000/v1/callbacks/tencent/s3cr3t-token?mobile=13912345678",
        "http.target": "/v1/receipts?phone=%2B8613912345678",
        "url.query": "mobile=13912345678",
        "http.route": "/v1/callbacks/{provider}/{token}",
        "http.status_code": 200,
    })
    assert scrubbed == {"http.url": "http://h:8000/v1/callbacks/tencent/***",
                        "http.target": "/v1/receipts",
                        "http.route": "/v1/callbacks/{provider}/{token}",
                        "http.status_code": 200}
    message = scrub_attributes({"exception.message": "no account for +86 139 1234 5678"},
                               phones=True)
    assert message == {"exception.message": "no account for ***"}
    assert scrub_attributes({"db.system": "postgresql"}) is None  # nothing to change
    assert traces_url("http://c:4318/") == "http://c:4318/v1/traces"
    assert traces_url("http://c:4318/v1/traces") == "http://c:4318/v1/traces"


def test_spans_leave_the_process_scrubbed_and_otherwise_whole() -> None:
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    from dlrhub.config.otel import Redacting

    received = InMemorySpanExporter()
    provider = TracerProvider()  # this test's own, not the process's
    provider.add_span_processor(SimpleSpanProcessor(Redacting(received)))
    tracer = provider.get_tracer("test")
    with tracer.start_as_current_span("POST /v1/callbacks/tencent/s3cr3t") as span:
        span.set_attribute("http.url", "http://h/v1/callbacks/tencent/s3cr3t?mobile=1391234")
        span.record_exception(ValueError("unknown number +8613912345678"))
    with tracer.start_as_current_span("SELECT dlrhub") as plain:
        plain.set_attribute("db.system", "postgresql")
        plain.add_event("retry", {"attempt": 2})

    scrubbed, untouched = received.get_finished_spans()
    assert scrubbed.name == "POST /v1/callbacks/tencent/***"
    assert scrubbed.attributes == {"http.url": "http://h/v1/callbacks/tencent/***"}
    (error,) = scrubbed.events
    assert error.attributes is not None
    assert error.attributes["exception.message"] == "unknown number ***"
    assert error.attributes["exception.type"] == "ValueError"
    assert untouched.attributes == {"db.system": "postgresql"}
    assert [(e.name, dict(e.attributes or {})) for e in untouched.events] == [
        ("retry", {"attempt": 2})]
    provider.shutdown()
