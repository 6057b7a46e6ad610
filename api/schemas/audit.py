"""The audit trail (``GET /v1/audit``, ``GET /v1/admin/audit``) and erasures."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import Field, StrictStr

from dlrhub.api.schemas.common import Input, Instant, Output, PageQuery

_ACTION = ("an action (`account.create`), or every action of a kind when it ends in `.` "
           "(`account.`)")


class AuditQuery(PageQuery):
    """Filters of the audit trail."""

    action: str | None = Field(default=None, max_length=60, description=_ACTION)
    target_type: str | None = Field(default=None, max_length=40,
                                    description="what was changed: `account`, `key`, …")
    target_id: str | None = Field(default=None, max_length=200)
    since: Instant | None = Field(default=None, description="at or after this time")
    until: Instant | None = Field(default=None, description="before this time")


class AdminAuditQuery(AuditQuery):
    """Filters of the admin's audit trail: every tenant's, or one's."""

    tenant_id: str | None = Field(default=None, max_length=40)


class AuditEventPublic(Output):
    """One change: who made it, what, when, to what. Never a secret or a personal datum."""

    id: str
    at: datetime
    actor_kind: str = Field(description="`admin`, `key` (an API key) or `console-session`")
    actor_id: str = Field(description="the API key's id, or `admin`")
    tenant_id: str | None
    action: str
    target_type: str
    target_id: str | None
    detail: dict[str, Any] = Field(
        description="the names of the fields the request set (`fields`), never their "
                    "values; an erasure's keyed hash of the number and its counts")


class AuditPage(Output):
    """A page of the audit trail, newest first."""

    data: list[AuditEventPublic]
    next: str | None


class ErasureRequest(Input):
    """Whose data to erase: a phone number, in any form a provider sends."""

    phone: StrictStr = Field(min_length=1, max_length=64,
                             description="E.164 (`+8613800000000`), national "
                                         "(`13800000000`) or without `+`")
    region: str | None = Field(default=None, min_length=2, max_length=2,
                               description="ISO 3166 region of a national number; "
                                           "default: the tenant's accounts' default "
                                           "region, else CN")
    tenant_id: str | None = Field(default=None, max_length=40,
                                  description="the admin's choice of tenant; a tenant's "
                                              "key erases its own data only")


class TableReport(Output):
    """What an erasure changed in one table."""

    deleted: int = 0
    redacted: int = 0


class ErasureReport(Output):
    """What an erasure changed, per table, and the keyed hash the audit trail keeps."""

    phone_hash: str = Field(description="HMAC-SHA256 of the E.164 number, keyed by the "
                                        "server's secret: what the audit trail keeps")
    tables: dict[str, TableReport]
