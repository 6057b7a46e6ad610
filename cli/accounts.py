"""A tenant's provider accounts on the command line: create, list, get, delete."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import click

from dlrhub.cli.output import (
    after_option,
    delete_and_say,
    emit,
    emit_page,
    json_object,
    json_option,
    limit_option,
    tenant_option,
    tenant_session,
)

if TYPE_CHECKING:
    from dlrhub.models import ProviderAccount
    from dlrhub.services.runtime import Runtime

COLUMNS = ("id", "provider", "name", "callback_url", "created_at")


@click.group()
def account() -> None:
    """Manage a tenant's provider accounts (as the tenant API does)."""


def public(rt: Runtime, record: ProviderAccount) -> dict[str, Any]:
    """Return the account as the API answers it, with its tenant."""
    from dlrhub.services.accounts import public_account

    doc = public_account(record, rt.box, rt.settings.effective_public_url)
    return {"id": record.id, "tenant_id": record.tenant_id,
            **doc.model_dump(mode="json", exclude={"id"})}


@account.command("create")
@tenant_option
@click.option("--provider", required=True, help="e.g. tencent, ucloud, aliyun.")
@click.option("--name", help="Defaults to the provider's name.")
@click.option("--credentials", metavar="JSON", callback=json_object,
              help="The provider's secrets by name.")
@click.option("--timezone", help="IANA zone of the provider's times, e.g. Asia/Shanghai.")
@click.option("--region", help="Region of phone numbers sent without one, e.g. CN.")
@click.option("--ip-allowlist", metavar="A,B",
              help="Comma-separated addresses or networks allowed to post callbacks.")
@click.option("--options", metavar="JSON", callback=json_object,
              help="The provider adapter's options.")
@click.option("--reason-overrides", metavar="JSON", callback=json_object,
              help='The account\'s own reason class per code, e.g. {"MK:0005": "blacklisted"}.')
@json_option
def account_create(tenant_id: str, provider: str, name: str | None,
                   credentials: dict[str, Any] | None, timezone: str | None,
                   region: str | None, ip_allowlist: str | None,
                   options: dict[str, Any] | None, reason_overrides: dict[str, Any] | None,
                   as_json: bool) -> None:
    """Create a provider account; configure its callback_url at the provider."""
    from dlrhub.models import AccountCreate
    from dlrhub.services.accounts import create_account

    allowlist = [s.strip() for s in (ip_allowlist or "").split(",") if s.strip()]
    with tenant_session(tenant_id) as (rt, session):
        spec = AccountCreate.model_validate({
            "provider": provider, "name": name or provider, "credentials": credentials,
            "timezone": timezone, "default_region": region, "ip_allowlist": allowlist,
            "options": options, "reason_overrides": reason_overrides})
        new = create_account(session, rt.box, tenant_id=tenant_id, spec=spec)
        session.commit()
        emit(public(rt, new.account), as_json)


@account.command("list")
@tenant_option
@click.option("--provider", help="Only this provider's accounts.")
@limit_option
@after_option
@json_option
def account_list(tenant_id: str, provider: str | None, limit: int, after: str | None,
                 as_json: bool) -> None:
    """List a tenant's accounts, newest first."""
    from dlrhub.services.accounts import list_accounts

    with tenant_session(tenant_id) as (rt, session):
        rows, cursor = list_accounts(session, tenant_id=tenant_id, limit=limit, after=after,
                                     provider=provider)
        emit_page([public(rt, r) for r in rows], cursor, COLUMNS, as_json)


@account.command("get")
@tenant_option
@click.argument("account_id")
@json_option
def account_get(tenant_id: str, account_id: str, as_json: bool) -> None:
    """Show an account with its callback_url."""
    from dlrhub.services.accounts import get_account

    with tenant_session(tenant_id) as (rt, session):
        emit(public(rt, get_account(session, tenant_id=tenant_id, account_id=account_id)),
             as_json)


@account.command("delete")
@tenant_option
@click.argument("account_id")
def account_delete(tenant_id: str, account_id: str) -> None:
    """Delete an account: its callback URL stops, its receipts stay."""
    from dlrhub.services.accounts import delete_account

    delete_and_say(tenant_id, account_id,
                   lambda session, i: delete_account(session, tenant_id=tenant_id,
                                                     account_id=i))
