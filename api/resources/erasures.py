"""``POST /v1/erasures``: erase one person's data by phone number."""

from __future__ import annotations

from collections.abc import Callable

import falcon
from sqlmodel import Session

from dlrhub.api.io import read_json, write
from dlrhub.api.openapi import operation
from dlrhub.api.schemas.audit import ErasureReport, ErasureRequest, TableReport
from dlrhub.services import audit, erasure, tenancy
from dlrhub.services.errors import InvalidInput

Sessions = Callable[[], Session]

_ABOUT = ("Removes everything dlrhub keeps about one phone number for the tenant: its "
          "receipts, messages and expectations are deleted; raw callbacks that mention it "
          "are kept with each form of the number masked in the stored bytes; the error "
          "texts and response excerpts of the deliveries that carried it are masked. The "
          "number is matched in every form a provider sends (E.164, without `+`, with "
          "`00`, national). The answer counts the rows changed per table; the audit trail "
          "keeps a keyed hash of the number, never the number. The admin names the tenant "
          "with `tenant_id`.")


class Erasures:
    """``/v1/erasures``."""

    def __init__(self, sessions: Sessions, secret_key: str, max_body: int) -> None:
        self._sessions = sessions
        # The first key of DLRHUB_SECRET_KEY keys the hash the audit trail keeps.
        self._hash_key = secret_key.split(",")[0].strip()
        self._max_body = max_body

    @operation("Erase a phone number's data", auth="any", audit="erasure.create",
               body=ErasureRequest, response=ErasureReport, tag="privacy",
               errors=(404,), description=_ABOUT)
    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        """Erase the data of one phone number from the tenant's tables."""
        body = read_json(req, ErasureRequest, self._max_body)
        tenant_id = _tenant_of(req, body.tenant_id)
        with self._sessions() as session:
            tenancy.get_tenant(session, tenant_id)
            region = erasure.region_of(session, tenant_id=tenant_id, given=body.region)
            forms = erasure.forms_of(body.phone, region)
            report = erasure.erase(session, tenant_id=tenant_id, forms=forms)
        phone_hash = audit.keyed_hash(self._hash_key, forms.e164)
        req.context.audit = {"tenant_id": tenant_id, "target_type": "phone",
                             "target_id": phone_hash,
                             "detail": {"phone_hash": phone_hash, "tables": report.tables}}
        write(resp, ErasureReport(phone_hash=phone_hash, tables={
            name: TableReport(**counts) for name, counts in report.tables.items()}))


def _tenant_of(req: falcon.Request, given: str | None) -> str:
    if req.context.role == "admin":
        if not given:
            raise InvalidInput("tenant_id", "the admin must name the tenant")
        return given
    own: str = req.context.tenant_id
    if given and given != own:
        raise InvalidInput("tenant_id", "a tenant's key erases its own data only")
    return own
