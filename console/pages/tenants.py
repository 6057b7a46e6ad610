"""``/console/tenants``: the admin's tenants — create, rename, suspend, resume, delete —
and each tenant's API keys: issue (the secret shown once, in the answer to the form)
and revoke. The same services as ``/v1/tenants`` (api/resources/tenants.py), so the
same rules: deleting is refused while the tenant has provider accounts."""

from __future__ import annotations

from typing import Any

import falcon
from pydantic import ValidationError

from dlrhub.console.forms import refusal
from dlrhub.console.web import PREFIX, Accepts, Console, Ctx, Shows
from dlrhub.models import KeyCreate, TenantCreate, TenantStatus, TenantUpdate
from dlrhub.services import accounts, keys, tenancy
from dlrhub.services.errors import Conflict, InvalidInput

NOTICES = ("created", "renamed", "suspended", "resumed", "revoked")


class _Page:
    """What the tenant pages share: a tenant's page with its keys."""

    console: Console

    def tenant_page(self, resp: falcon.Response, ctx: Ctx, tenant_id: str, *,
                    status: int = 200, **values: Any) -> None:
        with self.console.sessions() as session:
            tenant = tenancy.get_tenant(session, tenant_id)
            rows, _ = keys.list_keys(session, tenant_id=tenant_id, limit=100)
        self.console.render(resp, ctx, "tenant.html", status=status, tenant=tenant, keys=rows,
                       **{"notice": None, "error": None, "issued": None,
                          "given": {"name": tenant.name}, **values})


class Tenants(Shows, Accepts):
    """``/console/tenants``: the list, and ``POST`` creates a tenant."""

    audit = "tenant.create"
    role = "admin"

    def show(self, ctx: Ctx, req: falcon.Request, resp: falcon.Response,
             **params: str) -> None:
        """List the tenants, newest first, a page at a time, with the form of a new one."""
        notice = "deleted" if req.get_param("deleted") else None
        self._list(req, resp, ctx, notice=notice)

    def accept(self, ctx: Ctx, req: falcon.Request, resp: falcon.Response,
               fields: dict[str, str], **params: str) -> None:
        """Create the tenant and open its page; show the list again with what is wrong."""
        try:
            spec = TenantCreate.model_validate({"name": fields.get("name", "").strip()})
            with self.console.sessions() as session:
                tenant = tenancy.create_tenant(session, name=spec.name)
                session.commit()
                tenant_id = tenant.id
        except (ValidationError, InvalidInput) as ex:
            self._list(req, resp, ctx, status=400, error=refusal(ex),
                       given={"name": fields.get("name", "")})
            return
        raise falcon.HTTPSeeOther(f"{PREFIX}/tenants/{tenant_id}?created=1")

    def _list(self, req: falcon.Request, resp: falcon.Response, ctx: Ctx, *,
              status: int = 200, **values: Any) -> None:
        after = req.get_param("after") or None
        with self.console.sessions() as session:
            rows, cursor = tenancy.list_tenants(session, limit=50, after=after)
        self.console.render(resp, ctx, "tenants.html", status=status, tenants=rows,
                            cursor=cursor, **{"notice": None, "error": None,
                                              "given": {"name": ""}, **values})


class TenantPage(Shows, Accepts, _Page):
    """``/console/tenants/{tenant_id}``: the tenant and its keys; ``POST`` renames it."""

    audit = "tenant.update"
    role = "admin"

    def show(self, ctx: Ctx, req: falcon.Request, resp: falcon.Response,
             **params: str) -> None:
        """Show the tenant, its state, its keys and their forms."""
        notice = next((n for n in NOTICES if req.get_param(n)), None)
        self.tenant_page(resp, ctx, params["tenant_id"], notice=notice)

    def accept(self, ctx: Ctx, req: falcon.Request, resp: falcon.Response,
               fields: dict[str, str], **params: str) -> None:
        """Rename the tenant; show its page again with what is wrong."""
        tenant_id = params["tenant_id"]
        try:
            spec = TenantUpdate.model_validate({"name": fields.get("name", "").strip()})
            with self.console.sessions() as session:
                tenancy.update_tenant(session, tenant_id, name=spec.name)
                session.commit()
        except (ValidationError, InvalidInput) as ex:
            self.tenant_page(resp, ctx, tenant_id, status=400, error=refusal(ex),
                             given={"name": fields.get("name", "")})
            return
        raise falcon.HTTPSeeOther(f"{PREFIX}/tenants/{tenant_id}?renamed=1")


class TenantState(Accepts):
    """``POST /console/tenants/{tenant_id}/state``: suspend or resume.

    A suspended tenant's keys are refused and its console sessions end at once
    (services/signin.py asks about the tenant on every request); its callbacks are
    still stored.
    """

    audit = "tenant.update_status"
    role = "admin"

    def accept(self, ctx: Ctx, req: falcon.Request, resp: falcon.Response,
               fields: dict[str, str], **params: str) -> None:
        """Set the tenant's status and go back to its page."""
        try:
            status = TenantStatus(fields.get("status", ""))
        except ValueError as ex:
            raise InvalidInput("status", "must be active or suspended") from ex
        with self.console.sessions() as session:
            tenancy.update_tenant(session, params["tenant_id"], status=status)
            session.commit()
        done = "suspended" if status == TenantStatus.suspended else "resumed"
        raise falcon.HTTPSeeOther(f"{PREFIX}/tenants/{params['tenant_id']}?{done}=1")


class TenantDelete(Shows, Accepts):
    """``/console/tenants/{tenant_id}/delete``: the confirmation, then the deletion."""

    audit = "tenant.delete"
    role = "admin"

    def show(self, ctx: Ctx, req: falcon.Request, resp: falcon.Response,
             **params: str) -> None:
        """Ask to confirm, saying what goes, or why it cannot yet."""
        self._confirm(resp, ctx, params["tenant_id"])

    def accept(self, ctx: Ctx, req: falcon.Request, resp: falcon.Response,
               fields: dict[str, str], **params: str) -> None:
        """Delete the tenant with its data; refused (409) while it has provider accounts."""
        tenant_id = params["tenant_id"]
        try:
            with self.console.sessions() as session:
                tenancy.delete_tenant(session, tenant_id)
                session.commit()
        except Conflict:  # it has provider accounts: the page says which
            self._confirm(resp, ctx, tenant_id, status=409, refused=True)
            return
        raise falcon.HTTPSeeOther(f"{PREFIX}/tenants?deleted=1")

    def _confirm(self, resp: falcon.Response, ctx: Ctx, tenant_id: str, *,
                 status: int = 200, refused: bool = False) -> None:
        with self.console.sessions() as session:
            tenant = tenancy.get_tenant(session, tenant_id)
            live, _ = accounts.list_accounts(session, tenant_id=tenant_id, limit=100)
        self.console.render(resp, ctx, "tenant_delete.html", status=status, tenant=tenant,
                            accounts=live, refused=refused)


class TenantKeys(Accepts, _Page):
    """``POST /console/tenants/{tenant_id}/keys``: issue a key, shown in this answer only."""

    audit = "key.create"
    role = "admin"

    def accept(self, ctx: Ctx, req: falcon.Request, resp: falcon.Response,
               fields: dict[str, str], **params: str) -> None:
        """Issue the key and show its secret once, on the tenant's page."""
        tenant_id = params["tenant_id"]
        try:
            spec = KeyCreate.model_validate({"name": fields.get("name", "").strip()})
        except ValidationError as ex:
            self.tenant_page(resp, ctx, tenant_id, status=400, error=refusal(ex))
            return
        with self.console.sessions() as session:
            new = keys.create_key(session, tenant_id=tenant_id, name=spec.name)
            session.commit()
            issued = {"key": new.key, "name": new.record.name, "id": new.record.id}
        req.context.audit = {"target_id": new.record.id}
        self.tenant_page(resp, ctx, tenant_id, issued=issued)


class KeyRevoke(Accepts):
    """``POST /console/tenants/{tenant_id}/keys/{key_id}/revoke``.

    The key stops at once, for the API and for the console sessions opened with it.
    """

    audit = "key.revoke"
    role = "admin"

    def accept(self, ctx: Ctx, req: falcon.Request, resp: falcon.Response,
               fields: dict[str, str], **params: str) -> None:
        """Revoke the key and go back to the tenant's page."""
        with self.console.sessions() as session:
            keys.revoke_key(session, tenant_id=params["tenant_id"], key_id=params["key_id"])
            session.commit()
        raise falcon.HTTPSeeOther(f"{PREFIX}/tenants/{params['tenant_id']}?revoked=1")
