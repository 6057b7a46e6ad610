"""What the admin API does, on the command line: tenants and their API keys."""

from __future__ import annotations

import click

from dlrhub.cli.output import after_option, emit, emit_page, json_option, limit_option, runtime
from dlrhub.core.vocabulary import TenantStatus

TENANT_COLUMNS = ("id", "name", "status", "created_at")
KEY_COLUMNS = ("id", "name", "hint", "created_at", "last_used_at", "revoked_at")


@click.group()
def tenant() -> None:
    """Manage tenants (as the admin API does)."""


@tenant.command("create")
@click.argument("name")
@json_option
def tenant_create(name: str, as_json: bool) -> None:
    """Create a tenant."""
    from dlrhub.api.schemas.tenants import TenantPublic
    from dlrhub.services.tenancy import create_tenant

    with runtime() as rt, rt.sessions() as session:
        record = create_tenant(session, name=name)
        session.commit()
        emit(TenantPublic.model_validate(record), as_json)


@tenant.command("list")
@click.option("--status", type=click.Choice([s.value for s in TenantStatus]),
              help="Only tenants in this status.")
@limit_option
@after_option
@json_option
def tenant_list(status: str | None, limit: int, after: str | None, as_json: bool) -> None:
    """List tenants, newest first."""
    from dlrhub.api.schemas.tenants import TenantPublic
    from dlrhub.services.tenancy import list_tenants

    with runtime() as rt, rt.sessions() as session:
        rows, cursor = list_tenants(session, limit=limit, after=after,
                                    status=TenantStatus(status) if status else None)
        emit_page([TenantPublic.model_validate(r) for r in rows], cursor, TENANT_COLUMNS,
                  as_json)


@tenant.command("get")
@click.argument("tenant_id")
@json_option
def tenant_get(tenant_id: str, as_json: bool) -> None:
    """Show a tenant."""
    from dlrhub.api.schemas.tenants import TenantPublic
    from dlrhub.services.tenancy import get_tenant

    with runtime() as rt, rt.sessions() as session:
        emit(TenantPublic.model_validate(get_tenant(session, tenant_id)), as_json)


class _Days(click.ParamType[int | str]):
    """Whole days from 1 to 3650, or ``default`` (kept as the word: None is "not given")."""

    name = "DAYS|default"

    def convert(self, value: object, param: click.Parameter | None,
                ctx: click.Context | None) -> int | str:
        from dlrhub.models.tenant import MAX_RETENTION_DAYS, MIN_RETENTION_DAYS

        text = str(value).strip().lower()
        if text == "default":
            return text
        if not (text.isdigit() and MIN_RETENTION_DAYS <= int(text) <= MAX_RETENTION_DAYS):
            self.fail(f"{value!r} is not whole days from {MIN_RETENTION_DAYS} to "
                      f"{MAX_RETENTION_DAYS}, nor 'default'", param, ctx)
        return int(text)


@tenant.command("retention")
@click.argument("tenant_id")
@click.option("--inbox", type=_Days(), help="Raw callbacks' period.")
@click.option("--receipts", type=_Days(), help="Receipts' and message timelines' period.")
@click.option("--deliveries", type=_Days(),
              help="Finished deliveries' and their attempts' period.")
@click.option("--expectations", type=_Days(), help="Met and missing expectations' period.")
@json_option
def tenant_retention(tenant_id: str, as_json: bool, **periods: int | str | None) -> None:
    """Show a tenant's retention periods, or set them (in days, or 'default').

    Options left out stay as they are. Prints each period in days and whether it is
    the system default (DLRHUB_RETAIN_*_DAYS), as GET /v1/tenant shows it.
    """
    from dlrhub.services import retention, tenancy

    changes = {f"retain_{kind}_days": None if days == "default" else int(days)
               for kind, days in periods.items() if days is not None}
    with runtime() as rt, rt.sessions() as session:
        record = tenancy.get_tenant(session, tenant_id)
        if changes:
            record = tenancy.update_tenant(session, tenant_id, retention=changes)
            session.commit()
        effective = retention.effective_periods(
            record, retention.Periods.of_settings(rt.settings))
    emit({kind: {"days": p.days, "default": p.default} for kind, p in effective.items()},
         as_json)


@tenant.command("delete")
@click.argument("tenant_id")
def tenant_delete(tenant_id: str) -> None:
    """Delete a tenant with its keys, receipts and inbox (refused while it has accounts)."""
    from dlrhub.services.tenancy import delete_tenant

    with runtime() as rt, rt.sessions() as session:
        delete_tenant(session, tenant_id)
        session.commit()
    click.echo(f"deleted {tenant_id}")


@click.group()
def key() -> None:
    """Manage a tenant's API keys (as the admin API does)."""


@key.command("create")
@click.argument("tenant_id", metavar="TENANT")
@click.option("--name", default="", help="What the key is for, e.g. laptop.")
@json_option
def key_create(tenant_id: str, name: str, as_json: bool) -> None:
    """Issue an API key for a tenant; the key is shown this once."""
    from dlrhub.api.schemas.tenants import KeyCreated, KeyPublic
    from dlrhub.services.keys import create_key

    with runtime() as rt, rt.sessions() as session:
        new = create_key(session, tenant_id=tenant_id, name=name)
        session.commit()
        doc = KeyPublic.model_validate(new.record).model_dump()
        emit(KeyCreated(**doc, key=new.key), as_json)


@key.command("list")
@click.argument("tenant_id", metavar="TENANT")
@limit_option
@after_option
@json_option
def key_list(tenant_id: str, limit: int, after: str | None, as_json: bool) -> None:
    """List a tenant's keys, revoked ones too, newest first (never the secrets)."""
    from dlrhub.api.schemas.tenants import KeyPublic
    from dlrhub.services.keys import list_keys

    with runtime() as rt, rt.sessions() as session:
        rows, cursor = list_keys(session, tenant_id=tenant_id, limit=limit, after=after)
        emit_page([KeyPublic.model_validate(r) for r in rows], cursor, KEY_COLUMNS, as_json)


@key.command("revoke")
@click.argument("tenant_id", metavar="TENANT")
@click.argument("key_id")
@json_option
def key_revoke(tenant_id: str, key_id: str, as_json: bool) -> None:
    """Revoke a key (the API's DELETE); it stops working at once."""
    from dlrhub.api.schemas.tenants import KeyPublic
    from dlrhub.services.keys import revoke_key

    with runtime() as rt, rt.sessions() as session:
        record = revoke_key(session, tenant_id=tenant_id, key_id=key_id)
        session.commit()
        emit(KeyPublic.model_validate(record), as_json)
