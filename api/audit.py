"""Falcon middleware: an audit row for every successful change, API and console alike.

Kept at the edge so that no mutating route can be forgotten: every POST, PUT, PATCH
and DELETE answered below 400 is recorded, whether or not its responder declared an
action name (an undeclared one is named after its method and route, and a test fails
until it is declared). Not recorded: the providers' callbacks (public routes: they are
data, not changes) and the console's forms that change nothing of dlrhub's data
(sign-in, sign-out, preferences), which declare ``audit = None``.

The row is written in its own transaction right after the responder committed its
change: a failure to write it is logged (without the request's values) and does not
turn a change that was made into an error answer.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import falcon
import orjson
from sqlmodel import Session

from dlrhub.api.openapi import operation_of
from dlrhub.services import audit

log = logging.getLogger(__name__)

MUTATING = frozenset({"POST", "PUT", "PATCH", "DELETE"})


class AuditTrail:
    """Record who changed what after each successful mutating request."""

    def __init__(self, sessions: Callable[[], Session]) -> None:
        self._sessions = sessions

    def process_resource(self, req: falcon.Request, resp: falcon.Response, resource: Any,
                         params: dict[str, Any]) -> None:
        """Keep the route's parameters: the target is named by them."""
        req.context.audit_params = dict(params)

    def process_response(self, req: falcon.Request, resp: falcon.Response, resource: Any,
                         req_succeeded: bool) -> None:
        """Write the audit row of a change that succeeded."""
        if req.method not in MUTATING or resource is None or _status(resp) >= 400:
            return
        found = describe(req, resp, resource)
        if found is None:
            return
        actor, change = found
        try:
            with self._sessions() as session:
                audit.record(session, actor, change)
                session.commit()
        except Exception:  # the change is made: its answer must stand
            log.exception("the audit row of %s could not be written", change.action)


def describe(req: falcon.Request, resp: falcon.Response,
             resource: Any) -> tuple[audit.Actor, audit.Change] | None:
    """Return the actor and the change of a successful mutating request, or None."""
    params: dict[str, Any] = getattr(req.context, "audit_params", {})
    given: dict[str, Any] = getattr(req.context, "audit", {})
    viewer = getattr(getattr(req.context, "console", None), "viewer", None)
    if hasattr(resource, "console"):  # a console form (console/web.py: Accepts)
        action = getattr(resource, "audit", "")
        if action is None or viewer is None:
            return None
        actor = audit.Actor(audit.CONSOLE, "admin" if viewer.admin else (viewer.key_id or ""))
        tenant_id = viewer.tenant_id or params.get("tenant_id")
        created = _created_in_location(resp)
    else:
        op = operation_of(resource, req.method)
        if op is None or op.auth == "public":
            return None
        action = op.audit
        role = getattr(req.context, "role", None)
        if role == "admin":
            actor = audit.Actor(audit.ADMIN, "admin")
            tenant_id = params.get("tenant_id")
        else:
            actor = audit.Actor(audit.KEY, getattr(req.context, "key_id", ""))
            tenant_id = getattr(req.context, "tenant_id", None)
        created = _created_in_body(resp)
    if not action:
        action = f"{req.method} {req.uri_template or req.path}"
    target_type = given.get("target_type") or action.split(".")[0].split(" ")[0]
    target_id = given.get("target_id") or _target(params, created)
    if target_type == "tenant" and tenant_id is None:
        tenant_id = target_id
    detail: dict[str, Any] = {}
    fields = getattr(req.context, "body_fields", None)
    if fields:
        detail["fields"] = list(fields)
    detail.update(given.get("detail", {}))
    return actor, audit.Change(action=action, tenant_id=given.get("tenant_id", tenant_id),
                               target_type=target_type, target_id=target_id,
                               detail=detail)


def _status(resp: falcon.Response) -> int:
    return int(falcon.http_status_to_code(resp.status))


def _target(params: dict[str, Any], created: str | None) -> str | None:
    # A new thing's id is in the answer; an existing one's is the route's last id.
    if created:
        return created
    ids = [str(v) for k, v in params.items() if k.endswith("_id")]
    return ids[-1] if ids else None


def _created_in_body(resp: falcon.Response) -> str | None:
    if _status(resp) != 201 or not resp.data:
        return None
    try:
        doc = orjson.loads(resp.data)
    except orjson.JSONDecodeError:
        return None
    value = doc.get("id") if isinstance(doc, dict) else None
    return value if isinstance(value, str) else None


def _created_in_location(resp: falcon.Response) -> str | None:
    # The console answers a create by showing the new thing: ``…/<id>?created=1``.
    location = resp.get_header("Location") or ""
    path, _, query = location.partition("?")
    if "created=1" not in query.split("&"):
        return None
    return path.rstrip("/").rsplit("/", 1)[-1] or None
