"""Authentication middleware: the admin token and tenant API keys, per declared route."""

from __future__ import annotations

import hmac
from typing import Any

import falcon

from dlrhub.api.openapi import operation_of
from dlrhub.services.errors import Forbidden, Unauthorized
from dlrhub.services.keys import KeyDirectory


class Authentication:
    """Admit a request as the admin or as a tenant, as its responder declares."""

    def __init__(self, admin_token: str | None, keys: KeyDirectory) -> None:
        self._admin_token = admin_token
        self._keys = keys

    def process_resource(self, req: falcon.Request, resp: falcon.Response, resource: Any,
                         params: dict[str, Any]) -> None:
        """Check the bearer credentials before the responder runs."""
        if resource is None:
            return
        op = operation_of(resource, req.method)
        if op is None or op.auth == "public":
            return
        token = _bearer(req)
        if op.auth == "admin":
            if not self._admin_token:
                raise Unauthorized("the admin API is off: set DLRHUB_ADMIN_TOKEN")
            if token is None or not hmac.compare_digest(token.encode(),
                                                        self._admin_token.encode()):
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
        req.context.role = "tenant"
        req.context.tenant_id = principal.tenant_id


def _bearer(req: falcon.Request) -> str | None:
    header = req.get_header("Authorization") or ""
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        return None
    return value.strip()
