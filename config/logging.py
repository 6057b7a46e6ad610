"""Logging of every dlrhub process, configured in one place."""

from __future__ import annotations

import contextvars
import logging
import sys
from typing import Any

import orjson

from dlrhub.config.redaction import mask_callback_tokens

# Set by the API's request-id middleware and by tasks; shown in every log line.
request_id: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="-")


class _ContextFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id.get()
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


class _JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        doc = {
            "time": self.formatTime(record),
            "level": record.levelname,
            "logger": record.name,
            "request_id": getattr(record, "request_id", "-"),
            "message": record.getMessage(),
        }
        if record.exc_info:
            doc["exception"] = record.exc_text or self.formatException(record.exc_info)
        return orjson.dumps(doc).decode()


def configure_logging(level: str = "INFO", *, json: bool = False) -> None:
    """Send every log line to stderr, with the request id, as text or JSON."""
    mask_tokens_in_logs()
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(_ContextFilter())
    if json:
        handler.setFormatter(_JsonFormatter())
    else:
        handler.setFormatter(
            logging.Formatter("%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s")
        )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # Alembic announces every plugin it loads at INFO; only its migrations matter.
    logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)
