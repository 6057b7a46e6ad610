"""Middleware that crosses every route: the request id."""

from __future__ import annotations

import re
import uuid
from typing import Any

import falcon

from dlrhub.config.logging import request_id

_SAFE_ID = re.compile(r"[A-Za-z0-9._\-]{1,128}")


class RequestId:
    """Take ``X-Request-ID`` from the client (or make one), log it, and send it back."""

    def process_request(self, req: falcon.Request, resp: falcon.Response) -> None:
        given = req.get_header("X-Request-ID") or ""
        rid = given if _SAFE_ID.fullmatch(given) else uuid.uuid4().hex
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
