"""Middleware that crosses every route: the request id, the ids logs show, the metrics."""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Sequence
from typing import Any

import falcon

from dlrhub.config.logging import CONTEXT_IDS, bind_ids, request_id, reset_ids
from dlrhub.services import metrics

_SAFE_ID = re.compile(r"[A-Za-z0-9._\-]{1,128}")


def request_id_of(given: str) -> str:
    """Return the client's ``X-Request-ID`` if it is plain, else a new one."""
    return given if _SAFE_ID.fullmatch(given) else uuid.uuid4().hex


class RequestId:
    """Take ``X-Request-ID`` from the client (or make one), log it, and send it back."""

    def process_request(self, req: falcon.Request, resp: falcon.Response) -> None:
        given = req.get_header("X-Request-ID") or ""
        rid = request_id_of(given)
        req.context.request_id = rid
        req.context.request_id_token = request_id.set(rid)

    def process_response(self, req: falcon.Request, resp: falcon.Response, resource: Any,
                         req_succeeded: bool) -> None:
        rid = getattr(req.context, "request_id", None)
        if rid:
            resp.set_header("X-Request-ID", rid)
        token = getattr(req.context, "request_id_token", None)
        if token is not None:
            request_id.reset(token)


class LogIds:
    """Show in the request's log lines its tenant and the ids its route names.

    After authentication (which finds the tenant): ``/v1/endpoints/{endpoint_id}`` logs
    its ``endpoint_id``, a tenant key's request its ``tenant_id``. Only ids the route
    matched are taken, and only the names of ``CONTEXT_IDS``: never a token.
    """

    def process_resource(self, req: falcon.Request, resp: falcon.Response, resource: Any,
                         params: dict[str, Any]) -> None:
        ids = {name: str(params[name]) for name in CONTEXT_IDS if name in params}
        tenant = getattr(req.context, "tenant_id", None)
        if tenant:  # the key's tenant; an admin's request names its tenant in the route
            ids["tenant_id"] = str(tenant)
        req.context.log_ids_token = bind_ids(**ids)

    def process_response(self, req: falcon.Request, resp: falcon.Response, resource: Any,
                         req_succeeded: bool) -> None:
        token = getattr(req.context, "log_ids_token", None)
        if token is not None:
            reset_ids(token)


class RequestMetrics:
    """Count each request and time it, under its route template, never its raw path.

    A request no route matched counts as ``unmatched``, one a static route served under
    the label its prefix was given (``fixed``): neither can make a series per path.
    """

    def __init__(self, fixed: Sequence[tuple[str, str]] = ()) -> None:
        self._fixed = tuple(fixed)

    def process_request(self, req: falcon.Request, resp: falcon.Response) -> None:
        req.context.metrics_started = time.perf_counter()

    def process_response(self, req: falcon.Request, resp: falcon.Response, resource: Any,
                         req_succeeded: bool) -> None:
        started = getattr(req.context, "metrics_started", None)
        if started is None:
            return
        metrics.record_request(self.route_of(req), req.method, resp.status_code,
                               time.perf_counter() - started)

    def route_of(self, req: falcon.Request) -> str | None:
        """Return the label of ``req``'s route: its template, a fixed label, or None."""
        if req.uri_template:
            return req.uri_template
        for prefix, label in self._fixed:
            if req.path.startswith(prefix):
                return label
        return None
