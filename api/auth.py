"""Authentication middleware: the admin token and tenant API keys, per declared route."""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from typing import Any

import falcon

from dlrhub.api.openapi import operation_of
from dlrhub.services.errors import Forbidden, TooManyRequests, Unauthorized
from dlrhub.services.keys import KeyDirectory
from dlrhub.services.ratelimit import Limit, Limiter, RefusalLog


@dataclass(frozen=True)
class RateLimits:
    """Each tenant key's request limit: the system's, or its tenant's own."""

    limiter: Limiter
    # Requests a second (0: none) and the seconds' worth a key may make at once.
    rate: float
    burst_seconds: float
    # Where refusals are counted for the operator (None: nowhere).
    refusals: RefusalLog | None = None

    def check(self, tenant_id: str, key_id: str, tenant_rate: float | None) -> None:
        """Raise ``TooManyRequests`` if the key is over its limit."""
        rate = tenant_rate if tenant_rate is not None else self.rate
        if rate <= 0:
            return
        wait = self.limiter.take(key_id, Limit.of(rate, self.burst_seconds))
        if wait > 0:
            if self.refusals is not None:
                self.refusals.note(tenant_id)
            raise TooManyRequests(
                f"this API key is over its limit of {rate:g} requests a second",
                retry_after=wait)


class Authentication:
    """Admit a request as the admin or as a tenant, as its responder declares."""

    def __init__(self, admin_token: str | None, keys: KeyDirectory,
                 limits: RateLimits | None = None) -> None:
        self._admin_token = admin_token
        self._keys = keys
        self._limits = limits

    def process_resource(self, req: falcon.Request, resp: falcon.Response, resource: Any,
                         params: dict[str, Any]) -> None:
        """Check the bearer credentials before the responder runs."""
        if resource is None:
            return
        op = operation_of(resource, req.method)
        if op is None or op.auth == "public":
            return
        token = _bearer(req)
        if op.auth == "any" and token is not None and self._is_admin(token):
            req.context.role = "admin"
            return
        if op.auth == "admin":
            if not self._admin_token:
                raise Unauthorized("the admin API is off: set DLRHUB_ADMIN_TOKEN")
            if token is None or not self._is_admin(token):
                raise Unauthorized("a valid admin token is required")
            req.context.role = "admin"
            return
        if token is None:
            raise Unauthorized("a tenant API key is required")
        principal = self._keys.authenticate(token)
        if principal is None:
            raise Unauthorized("the API key is unknown or revoked")
        if principal.suspended:
            raise Forbidden("the tenant is suspended")
        if self._limits is not None:
            self._limits.check(principal.tenant_id, principal.key_id,
                               principal.rate_limit)
        req.context.role = "tenant"
        req.context.tenant_id = principal.tenant_id
        req.context.key_id = principal.key_id

    def _is_admin(self, token: str) -> bool:
        return bool(self._admin_token) and hmac.compare_digest(
            token.encode(), (self._admin_token or "").encode())


def _bearer(req: falcon.Request) -> str | None:
    header = req.get_header("Authorization") or ""
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        return None
    return value.strip()
