"""``POST|GET /v1/callbacks/{provider}/{token}``: where providers deliver."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING

import falcon
from sqlalchemy import Engine

from dlrhub.api.errors import problem
from dlrhub.api.openapi import operation
from dlrhub.providers.base import CallbackRequest
from dlrhub.providers.registry import get_provider
from dlrhub.services import metrics
from dlrhub.services.accounts import TokenDirectory
from dlrhub.services.callbacks import CallbackLimits, Received, receive_callback
from dlrhub.services.wakeups import Wakeups

if TYPE_CHECKING:
    from dlrhub.api.callback_lane import CallbackLane

log = logging.getLogger(__name__)


class CallbackResource:
    """Authenticate, keep and acknowledge provider callbacks."""

    def __init__(self, engine: Engine, directory: TokenDirectory, wakeups: Wakeups,
                 limits: CallbackLimits, clock: Callable[[], datetime],
                 public_url: str = "") -> None:
        self._public_url = public_url.rstrip("/")
        self._engine = engine
        self._directory = directory
        self._wakeups = wakeups
        self._limits = limits
        self._clock = clock

    def lane(self, conninfo: str, pool_size: int, timeout: float = 2.0) -> CallbackLane:
        """Return the event loop's lane for this resource's accepted callbacks.

        ``timeout``: the longest wait for a database connection before the lane leaves
        the callback to this resource.
        """
        from dlrhub.api.callback_lane import CallbackLane

        return CallbackLane(conninfo, directory=self._directory, wakeups=self._wakeups,
                            limits=self._limits, clock=self._clock,
                            public_url=self._public_url, pool_size=pool_size,
                            timeout=timeout)

    @operation("Receive a provider callback", auth="public", tag="callbacks",
               provider_form=True,
               description="Where a provider posts its status reports and inbound SMS, "
               "in its own format; the answer is in the provider's own format too. The "
               "token is the secret of the account's callback_url.")
    def on_post(self, req: falcon.Request, resp: falcon.Response, provider: str,
                token: str) -> None:
        """Receive one callback and answer in the provider's own form."""
        adapter = get_provider(provider)
        if adapter is None:
            problem(resp, 404, "unknown-provider", "Unknown provider",
                    f"no provider named {provider!r}")
            return
        length = req.content_length
        # Read one byte past the limit, so that a body without a length is caught too.
        body = b"" if (length or 0) > self._limits.max_body_bytes else \
            req.bounded_stream.read(self._limits.max_body_bytes + 1)
        request = CallbackRequest(
            body=body,
            headers={name.lower(): value for name, value in req.headers.items()},
            content_type=(req.content_type or "").split(";")[0].strip().lower(),
            method=req.method,
            path=req.path,
            query=req.query_string,
            remote_addr=req.remote_addr or "",
            url=public_callback_url(self._public_url, req.path, req.query_string),
        )
        try:
            result = receive_callback(
                self._engine,
                self._directory, adapter, token, request, content_length=length,
                limits=self._limits, now=self._clock())
        except Exception:
            # A bug must still get the provider's failure form, and a 503 so it retries.
            log.exception("callback for %s failed", provider)
            result = Received(adapter.answer(request, None, ok=False, status=503,
                                             reason="temporarily unavailable, retry"),
                              "error")
        if result.inbox_id is not None:  # committed already (autocommit)
            self._wakeups.inbox_ready((result.inbox_id,), result.records)
        metrics.record_callback(adapter.name, result.outcome)
        req.context.callback_outcome = result.outcome  # for the request's span, if traced
        resp.status = result.answer.status
        resp.content_type = result.answer.content_type
        resp.data = result.answer.body
        if result.answer.status == 413:
            resp.set_header("Connection", "close")

    @operation("Receive a provider callback by GET", auth="public", tag="callbacks",
               provider_form=True,
               description="The same callback for providers that report by GET, with "
               "the record in the query string (Kannel, ChuangLan, legacy MessageBird).")
    def on_get(self, req: falcon.Request, resp: falcon.Response, provider: str,
               token: str) -> None:
        """Receive one callback sent as a GET: the adapter reads its query string."""
        self.on_post(req, resp, provider, token)


def public_callback_url(public_url: str, path: str, query: str) -> str:
    """Return the URL a provider called, rebuilt on the deployment's public base URL."""
    return f"{public_url}{path}" + (f"?{query}" if query else "")
