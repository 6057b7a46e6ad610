"""Logging of every dlrhub process, configured in one place."""

from __future__ import annotations

import contextvars
import logging
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Any

import orjson

from dlrhub.config.redaction import mask_callback_tokens

# Set by the API's request-id middleware and by tasks; shown in every log line.
request_id: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="-")
# The ids of what a line is about, whichever apply: the API binds them from the request
# (its tenant, the ids in its route), the tasks from what they were given.
CONTEXT_IDS = ("tenant_id", "account_id", "inbox_id", "delivery_id", "endpoint_id")
_ids: contextvars.ContextVar[Mapping[str, str]] = contextvars.ContextVar(
    "log_ids", default=MappingProxyType({}))


def bind_ids(**ids: str | None) -> contextvars.Token[Mapping[str, str]]:
    """Add ``ids`` (those given, of ``CONTEXT_IDS``) to the log lines of this context."""
    given = {k: v for k, v in ids.items() if v and k in CONTEXT_IDS}
    return _ids.set(MappingProxyType({**_ids.get(), **given}))


def reset_ids(token: contextvars.Token[Mapping[str, str]]) -> None:
    """Take back what the ``bind_ids`` that returned ``token`` added."""
    _ids.reset(token)


@contextmanager
def log_ids(**ids: str | None) -> Iterator[None]:
    """Show ``ids`` in every log line of the block."""
    token = bind_ids(**ids)
    try:
        yield
    finally:
        reset_ids(token)


def bound_ids() -> Mapping[str, str]:
    """Return the ids the log lines of this context show."""
    return _ids.get()


class _ContextFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id.get()
        record.context_ids = _ids.get()
        return True


def _mask_record(record: logging.LogRecord) -> None:
    """Replace a record's message (and traceback) by one without callback tokens."""
    try:
        message = record.getMessage()
    except Exception:  # a broken format is the handler's to report
        return
    masked = mask_callback_tokens(message)
    if masked != message:
        record.msg, record.args = masked, None
    if record.exc_info and record.exc_info[0] is not None and not record.exc_text:
        # Formatters reuse exc_text: formatting it here lets the traceback be masked too.
        text = logging.Formatter().formatException(record.exc_info)
        record.exc_text = mask_callback_tokens(text)


def mask_tokens_in_logs() -> None:
    """Mask callback tokens in every log record of this process, whoever logs it.

    A record factory, not a handler filter: servers log their access lines through
    handlers of their own (uvicorn's ``uvicorn.access`` logs the request path), and
    the factory is the one step every record of every logger goes through.
    """
    current = logging.getLogRecordFactory()
    if getattr(current, "masks_tokens", False):
        return

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = current(*args, **kwargs)
        _mask_record(record)
        return record

    # A mark on the function, so that a second call does not wrap the factory again.
    factory.masks_tokens = True  # type: ignore[attr-defined]
    logging.setLogRecordFactory(factory)


def rfc3339(created: float) -> str:
    """Return the instant ``created`` (a Unix time) as RFC 3339 in UTC, to the ms."""
    return datetime.fromtimestamp(created, tz=UTC).isoformat(timespec="milliseconds")


def json_line(level: str, logger: str, message: str, *, created: float | None = None,
              request: str = "-", ids: Mapping[str, str] | None = None,
              exception: str | None = None) -> str:
    """Return one log line in dlrhub's JSON form (what ``DLRHUB_LOG_JSON`` turns on)."""
    doc: dict[str, Any] = {
        "time": rfc3339(time.time() if created is None else created),
        "level": level,
        "logger": logger,
        "request_id": request,
        **(ids or {}),
        "message": message,
    }
    if exception:
        doc["exception"] = exception
    return orjson.dumps(doc).decode()


def say(message: str, *, json: bool, logger: str = "dlrhub") -> None:
    """Tell the terminal ``message`` whatever the log level: a line, or a JSON log line.

    For what a command says of itself (where it serves, what it restarted), which the
    log level must not hide and which, under ``DLRHUB_LOG_JSON``, is JSON like the rest.
    """
    line = json_line("INFO", logger, mask_callback_tokens(message)) if json else message
    print(line, file=sys.stderr, flush=True)


class JsonFormatter(logging.Formatter):
    """Format a record as one JSON object: time with its zone, level, logger, ids, message."""

    def format(self, record: logging.LogRecord) -> str:
        exception = None
        if record.exc_info:
            exception = record.exc_text or self.formatException(record.exc_info)
        elif record.stack_info:
            exception = self.formatStack(record.stack_info)
        return json_line(record.levelname, record.name, record.getMessage(),
                         created=record.created,
                         request=getattr(record, "request_id", None) or request_id.get(),
                         ids=getattr(record, "context_ids", None) or _ids.get(),
                         exception=exception)


def _log_uncaught(kind: type[BaseException], error: BaseException, tb: Any) -> None:
    logging.getLogger("dlrhub").critical("uncaught %s", kind.__name__,
                                         exc_info=(kind, error, tb))


def configure_logging(level: str = "INFO", *, json: bool = False) -> None:
    """Send every log line to stderr, with the request id, as text or JSON.

    Python's warnings go through logging too (``py.warnings``): in JSON, a library's
    warning is a JSON line like any other.
    """
    mask_tokens_in_logs()
    logging.captureWarnings(True)
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(_ContextFilter())
    if json:
        handler.setFormatter(JsonFormatter())
        # A crash's traceback is a log line too, not text on stderr.
        sys.excepthook = _log_uncaught
    else:
        handler.setFormatter(
            logging.Formatter("%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s")
        )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # Alembic announces every plugin it loads at INFO; only its migrations matter.
    logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)
