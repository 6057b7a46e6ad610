"""Every error answer of the API as RFC 9457 problem+json, decided in one place."""

from __future__ import annotations

import logging
import math
from typing import Any

import falcon
import orjson

from dlrhub.api.bridge import BodyStalled, ClientGone
from dlrhub.services.errors import (
    Conflict,
    Forbidden,
    InvalidInput,
    NotFound,
    ServiceError,
    TooManyRequests,
    Unauthorized,
)

log = logging.getLogger(__name__)

PROBLEM = "application/problem+json"
# Stable, dereferencing-free problem types (RFC 9457 §3.1.1 allows any URI).
TYPE_BASE = "urn:dlrhub:problem:"

_STATUS_OF: dict[type[ServiceError], int] = {
    Unauthorized: 401,
    Forbidden: 403,
    NotFound: 404,
    Conflict: 409,
    InvalidInput: 422,
    TooManyRequests: 429,
}


_TITLES = {401: "Unauthorized", 403: "Forbidden", 404: "Not Found", 409: "Conflict",
           422: "Invalid field", 429: "Too Many Requests", 503: "Service Unavailable"}


def problem(resp: falcon.Response, status: int, kind: str, title: str, detail: str = "",
            **extra: Any) -> None:
    """Write a problem document to ``resp``."""
    doc: dict[str, Any] = {"type": TYPE_BASE + kind, "title": title, "status": status}
    if detail:
        doc["detail"] = detail
    doc.update(extra)
    resp.status = status
    resp.content_type = PROBLEM
    resp.data = orjson.dumps(doc)


def _kind_of(status: int) -> str:
    return {400: "bad-request", 401: "unauthorized", 403: "forbidden", 404: "not-found",
            405: "method-not-allowed", 413: "payload-too-large",
            415: "unsupported-media-type", 422: "validation", 429: "too-many-requests",
            503: "unavailable"}.get(status, "error")


def serialize_http_error(req: falcon.Request, resp: falcon.Response,
                         exception: falcon.HTTPError) -> None:
    """Render Falcon's own errors (404 routes, 405 methods, …) as problem+json."""
    status = exception.status_code
    problem(resp, status, _kind_of(status), exception.title or "Error",
            exception.description or "")
    if exception.headers:
        # 405 carries Allow, 401 WWW-Authenticate: keep them on the problem answer.
        resp.set_headers(exception.headers)


def handle_service_error(req: falcon.Request, resp: falcon.Response, ex: ServiceError,
                         params: dict[str, Any]) -> None:
    """Map a domain error to its HTTP answer."""
    status = next((code for cls, code in _STATUS_OF.items() if isinstance(ex, cls)), 400)
    extra = {"field": ex.field} if isinstance(ex, InvalidInput) else {}
    problem(resp, status, ex.kind, _TITLES.get(status, type(ex).__name__), ex.detail, **extra)
    if status == 401:
        resp.set_header("WWW-Authenticate", 'Bearer realm="dlrhub"')
    if isinstance(ex, TooManyRequests):
        # Whole seconds (RFC 9110), rounded up: a client that waits that long passes.
        resp.set_header("Retry-After", str(max(1, math.ceil(ex.retry_after))))


def handle_unexpected(req: falcon.Request, resp: falcon.Response, ex: Exception,
                      params: dict[str, Any]) -> None:
    """Log a bug and answer 500 without a traceback; HTTP errors pass through."""
    if isinstance(ex, falcon.HTTPError):
        serialize_http_error(req, resp, ex)
        return
    log.exception("unhandled error on %s %s", req.method, req.path)
    problem(resp, 500, "internal", "Internal Server Error",
            "the error was logged; please retry or report it")


def handle_stalled(req: falcon.Request, resp: falcon.Response, ex: BodyStalled,
                   params: dict[str, Any]) -> None:
    """A streamed upload stopped coming: 408, and the connection is closed."""
    problem(resp, 408, "request-timeout", "Request Timeout", str(ex))
    resp.set_header("Connection", "close")


def handle_gone(req: falcon.Request, resp: falcon.Response, ex: ClientGone,
                params: dict[str, Any]) -> None:
    """The client of a streamed upload left: nobody reads the answer, nothing to log."""
    problem(resp, 400, "bad-request", "Bad Request", str(ex))


def register(app: falcon.App[Any, Any]) -> None:
    """Install the error handlers on ``app``; the most specific class wins."""
    app.set_error_serializer(serialize_http_error)
    app.add_error_handler(Exception, handle_unexpected)
    app.add_error_handler(ServiceError, handle_service_error)
    app.add_error_handler(BodyStalled, handle_stalled)
    app.add_error_handler(ClientGone, handle_gone)
