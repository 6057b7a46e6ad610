"""``/console/accounts``: provider accounts — list, create, edit, rotate the callback token,
and the callbacks each account refused."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import falcon
from pydantic import ValidationError
from sqlmodel import Session

from dlrhub.console import i18n
from dlrhub.console.forms import lines, refusal
from dlrhub.console.web import PREFIX, ConsoleError, Ctx, Shows
from dlrhub.console.web import Accepts as _Accepts
from dlrhub.core.vocabulary import InboxState
from dlrhub.models import AccountCreate, AccountUpdate, ProviderAccount
from dlrhub.services import accounts, inbox
from dlrhub.services.errors import InvalidInput

# The grace periods offered when rotating (seconds); the API takes any up to seven days.
GRACES = (0, 3600, accounts.DEFAULT_GRACE_SECONDS, accounts.MAX_GRACE_SECONDS)
REFUSED = (InboxState.rejected, InboxState.failed)
REFUSED_SHOWN = 20
PROVIDERS = accounts.provider_forms()


def help_text(lang: str) -> Callable[[str, str], str]:
    """Return the catalogue's help of a provider's option or credential, else ``fallback``
    (a provider added later shows its adapter's English help until it is translated)."""

    def find(key: str, fallback: str) -> str:
        return i18n.t(lang, key) if key in i18n.CATALOGUE else fallback

    return find


def _adapter(name: str | None) -> accounts.ProviderForm | None:
    return PROVIDERS.get(name or "")


def _settings(fields: dict[str, str], adapter: accounts.ProviderForm) -> dict[str, Any]:
    """Return the settings a create or edit form gives, as the request bodies take them."""
    region = fields.get("default_region", "").strip()
    return {
        "name": fields.get("name", ""),
        "timezone": fields.get("timezone", "").strip() or adapter.default_timezone,
        "default_region": region or None,
        "ip_allowlist": lines(fields.get("ip_allowlist"), "ip_allowlist"),
        "options": {name: fields[f"option.{name}"] for name in adapter.options
                    if fields.get(f"option.{name}")},
    }


def _credentials(fields: dict[str, str], adapter: accounts.ProviderForm) -> dict[str, str]:
    names = (*adapter.required_credentials, *adapter.optional_credentials)
    return {n: fields[f"credential.{n}"] for n in names if fields.get(f"credential.{n}", "")}


class Accounts(Shows):
    """``GET /console/accounts``."""

    def show(self, ctx: Ctx, req: falcon.Request, resp: falcon.Response,
             **params: str) -> None:
        """List the tenant's accounts with their callback URLs."""
        after = req.get_param("after") or None
        console = self.console
        with console.sessions() as session:
            rows, cursor = accounts.list_accounts(session, tenant_id=ctx.tenant_id, limit=50,
                                                  after=after)
            shown = [accounts.public_account(a, console.box,
                                             console.settings.effective_public_url)
                     for a in rows]
        console.render(resp, ctx, "accounts.html", accounts=shown, cursor=cursor,
                       providers=PROVIDERS)


class NewAccount(Shows, _Accepts):
    """``/console/accounts/new[?provider=…]``: a form per provider."""

    audit = "account.create"

    def show(self, ctx: Ctx, req: falcon.Request, resp: falcon.Response,
             **params: str) -> None:
        """Show the chosen provider's form (or the choice of provider)."""
        adapter = _adapter(req.get_param("provider"))
        given = {"timezone": adapter.default_timezone,
                 "default_region": adapter.default_region or ""} if adapter else {}
        self._form(resp, ctx, adapter, given, error=None)

    def accept(self, ctx: Ctx, req: falcon.Request, resp: falcon.Response,
               fields: dict[str, str], **params: str) -> None:
        """Create the account and open it; show the form again with what is wrong."""
        adapter = _adapter(fields.get("provider"))
        if adapter is None:
            raise ConsoleError(400, "error.bad_input", detail="provider: choose a provider")
        console = self.console
        try:
            spec = AccountCreate.model_validate({
                **_settings(fields, adapter), "provider": adapter.name,
                "credentials": _credentials(fields, adapter)})
            with console.sessions() as session:
                new = accounts.create_account(session, console.box,
                                              tenant_id=ctx.tenant_id, spec=spec)
                session.commit()
                account_id = new.account.id
        except (ValidationError, InvalidInput) as ex:
            given = {k: v for k, v in fields.items() if not k.startswith("credential.")}
            self._form(resp, ctx, adapter, given, error=refusal(ex), status=400)
            return
        raise falcon.HTTPSeeOther(f"{PREFIX}/accounts/{account_id}?created=1")

    def _form(self, resp: falcon.Response, ctx: Ctx, adapter: accounts.ProviderForm | None,
              given: dict[str, str], *, error: str | None, status: int = 200) -> None:
        self.console.render(resp, ctx, "account_new.html", status=status, adapter=adapter,
                            providers=PROVIDERS, given=given, error=error,
                            graces=GRACES, help_text=help_text(ctx.lang))


class AccountPage(Shows, _Accepts):
    """``/console/accounts/{account_id}``: its callback URL, settings and refusals;
    ``POST`` saves the edit form."""

    audit = "account.update"

    def show(self, ctx: Ctx, req: falcon.Request, resp: falcon.Response,
             **params: str) -> None:
        """Show the account."""
        notice = next((n for n in ("created", "rotated", "saved") if req.get_param(n)), None)
        self._page(resp, ctx, params["account_id"], notice=notice)

    def accept(self, ctx: Ctx, req: falcon.Request, resp: falcon.Response,
               fields: dict[str, str], **params: str) -> None:
        """Save the settings; credentials change only when new ones are typed."""
        console = self.console
        account_id = params["account_id"]
        with console.sessions() as session:
            account = accounts.get_account(session, tenant_id=ctx.tenant_id,
                                           account_id=account_id)
            adapter = PROVIDERS[account.provider]
        try:
            body = _settings(fields, adapter)
            body["options"] = body["options"] or None
            creds = _credentials(fields, adapter)
            if creds:
                body["credentials"] = creds
            spec = AccountUpdate.model_validate(body)
            with console.sessions() as session:
                accounts.update_account(session, console.box, tenant_id=ctx.tenant_id,
                                        account_id=account_id, spec=spec)
                session.commit()
        except (ValidationError, InvalidInput) as ex:
            self._page(resp, ctx, account_id, error=refusal(ex), status=400)
            return
        raise falcon.HTTPSeeOther(f"{PREFIX}/accounts/{account_id}?saved=1")

    def _page(self, resp: falcon.Response, ctx: Ctx, account_id: str, *,
              notice: str | None = None, error: str | None = None, status: int = 200) -> None:
        console = self.console
        with console.sessions() as session:
            account = accounts.get_account(session, tenant_id=ctx.tenant_id,
                                           account_id=account_id)
            shown = accounts.public_account(account, console.box,
                                            console.settings.effective_public_url)
            refused = _refused(session, ctx.tenant_id, account)
        console.render(resp, ctx, "account.html", status=status, account=shown,
                       adapter=PROVIDERS[account.provider], refused=refused, notice=notice,
                       error=error, graces=GRACES, help_text=help_text(ctx.lang))


def _refused(session: Session, tenant_id: str, account: ProviderAccount) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for state in REFUSED:
        found, _ = inbox.list_inbox(session, tenant_id=tenant_id, state=state,
                                    account_id=account.id, limit=REFUSED_SHOWN)
        rows.extend(found)
    rows.sort(key=lambda r: (r["received_at"], r["id"]), reverse=True)
    return rows[:REFUSED_SHOWN]


class AccountRotate(_Accepts):
    """``POST /console/accounts/{account_id}/rotate``: a new callback URL."""

    audit = "account.rotate_token"

    def accept(self, ctx: Ctx, req: falcon.Request, resp: falcon.Response,
               fields: dict[str, str], **params: str) -> None:
        """Rotate the token with the chosen grace period, then show the new URL."""
        try:
            grace = int(fields.get("grace_seconds") or accounts.DEFAULT_GRACE_SECONDS)
        except ValueError as ex:
            raise ConsoleError(400, "error.bad_input",
                               detail="grace_seconds: must be a whole number") from ex
        console = self.console
        account_id = params["account_id"]
        with console.sessions() as session:
            accounts.rotate_token(session, console.box, tenant_id=ctx.tenant_id,
                                  account_id=account_id, grace_seconds=grace)
            session.commit()
        raise falcon.HTTPSeeOther(f"{PREFIX}/accounts/{account_id}?rotated=1")


class RefusedCallback(Shows):
    """``GET /console/accounts/{account_id}/callbacks/{inbox_id}``: one refused callback,
    its reason, headers and whole body, as text."""

    def show(self, ctx: Ctx, req: falcon.Request, resp: falcon.Response,
             **params: str) -> None:
        """Show the kept callback."""
        with self.console.sessions() as session:
            account = accounts.get_account(session, tenant_id=ctx.tenant_id,
                                           account_id=params["account_id"])
            item = inbox.get_inbox_item(session, tenant_id=ctx.tenant_id,
                                        inbox_id=params["inbox_id"])
        if item["account_id"] != account.id:
            raise ConsoleError(404, "error.not_found")
        self.console.render(resp, ctx, "callback.html", account=account, item=item)

