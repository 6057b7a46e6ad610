"""``GET /v1/audit`` (a tenant's own trail) and ``GET /v1/admin/audit`` (everyone's)."""

from __future__ import annotations

from collections.abc import Callable

import falcon
from sqlmodel import Session

from dlrhub.api.io import read_query, write
from dlrhub.api.openapi import operation
from dlrhub.api.schemas.audit import AdminAuditQuery, AuditEventPublic, AuditPage, AuditQuery
from dlrhub.services import audit

Sessions = Callable[[], Session]


def _page(session: Session, q: AuditQuery, tenant_id: str | None) -> AuditPage:
    rows, cursor = audit.list_events(
        session, tenant_id=tenant_id, limit=q.limit, after=q.after, action=q.action,
        target_type=q.target_type, target_id=q.target_id, since=q.since, until=q.until)
    return AuditPage(data=[AuditEventPublic.model_validate(r) for r in rows], next=cursor)


class Audit:
    """``/v1/audit``."""

    def __init__(self, sessions: Sessions) -> None:
        self._sessions = sessions

    @operation("List the audit trail", auth="tenant", query=AuditQuery, response=AuditPage,
               tag="audit", description="Every change made to the tenant's data through "
               "the API or the console, newest first: who (a key id, or `admin`), what, "
               "when, to what. Send the same filters with `after` as with the first page.")
    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        """List the tenant's audit trail, newest first."""
        q = read_query(req, AuditQuery)
        with self._sessions() as session:
            write(resp, _page(session, q, req.context.tenant_id))


class AdminAudit:
    """``/v1/admin/audit``."""

    def __init__(self, sessions: Sessions) -> None:
        self._sessions = sessions

    @operation("List every tenant's audit trail", auth="admin", query=AdminAuditQuery,
               response=AuditPage, tag="audit",
               description="Every change, of every tenant (or of `tenant_id`'s), newest "
                           "first.")
    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        """List the audit trail, newest first."""
        q = read_query(req, AdminAuditQuery)
        with self._sessions() as session:
            write(resp, _page(session, q, q.tenant_id))
