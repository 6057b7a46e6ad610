"""A tenant's stored receipts on the command line, as the API shows them (events)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, BinaryIO

import click

from dlrhub.cli.output import (
    after_option,
    emit,
    emit_page,
    instant,
    json_option,
    runtime,
    tenant_option,
    tenant_session,
)
from dlrhub.core.vocabulary import EventType, ReasonClass, ReceiptStatus

COLUMNS = ("id", "received_at", "provider", "message_id", "phone", "status")
STATUSES = tuple(s.value for s in ReceiptStatus)
EVENT_TYPES = tuple(t.value for t in EventType)
REASON_CLASSES = tuple(c.value for c in ReasonClass)


@click.group()
def receipt() -> None:
    """Read a tenant's stored receipts (as the tenant API does)."""


def _filters(command: Any) -> Any:
    """Add the receipt list's filters, as the API has them, to a command."""
    options = [
        click.option("--message-id", help="Only this message's."),
        click.option("--reference", help="Only this reference's."),
        click.option("--phone", help="Only this phone's, as stored (E.164 where known)."),
        click.option("--status", type=click.Choice(STATUSES), help="Only this status."),
        click.option("--type", "type", type=click.Choice(EVENT_TYPES),
                     help="Only this event type."),
        click.option("--provider", help="Only this provider's."),
        click.option("--account", "account_id", metavar="ID", help="Only this account's."),
        click.option("--reason-class", type=click.Choice(REASON_CLASSES),
                     help="Only failures of this class."),
        click.option("--since", metavar="TIME", callback=instant,
                     help="Received at or after, e.g. 2026-01-31T00:00Z."),
        click.option("--until", metavar="TIME", callback=instant, help="Received before."),
    ]
    for option in reversed(options):
        command = option(command)
    return command


@receipt.command("list")
@tenant_option
@_filters
@click.option("--limit", type=click.IntRange(1, 500), default=20, show_default=True,
              help="Page size.")
@after_option
@json_option
def receipt_list(tenant_id: str, limit: int, after: str | None, as_json: bool,
                 **filters: Any) -> None:
    """List a tenant's receipts as events, newest first."""
    from dlrhub.services.receipts import list_receipts

    with tenant_session(tenant_id) as (_rt, session):
        page = list_receipts(session, tenant_id=tenant_id, limit=limit, after=after,
                             **filters)
    emit_page(page.data, page.next, COLUMNS, as_json)


@receipt.command("export")
@tenant_option
@_filters
@click.option("--format", "fmt", type=click.Choice(["ndjson", "csv"]), default="ndjson",
              show_default=True, help="One event per line, or CSV with a header.")
@click.option("--output", "-o", type=click.File("wb"), default="-",
              help="Write to this file (default: standard output).")
def receipt_export(tenant_id: str, fmt: str, output: BinaryIO, **filters: Any) -> None:
    """Write every receipt the filters match, newest first, in constant memory."""
    from dlrhub.services import export
    from dlrhub.services.tenancy import get_tenant

    with runtime() as rt:
        with rt.sessions() as session:
            get_tenant(session, tenant_id)
            export.check(session, tenant_id=tenant_id, **filters)
        for chunk in export.lines(fmt, export.documents(rt.sessions, tenant_id, filters)):
            output.write(chunk)
        output.flush()


@receipt.command("get")
@tenant_option
@click.argument("receipt_id")
@json_option
def receipt_get(tenant_id: str, receipt_id: str, as_json: bool) -> None:
    """Show one receipt as its event, with the provider's raw record."""
    from dlrhub.services.receipts import get_receipt

    with tenant_session(tenant_id) as (_rt, session):
        emit(get_receipt(session, tenant_id=tenant_id, receipt_id=receipt_id), as_json)


@receipt.command("reclassify")
@click.option("--account", "account_id", metavar="ID", help="Only this account's receipts.")
@click.option("--since", metavar="TIME", callback=instant,
              help="Only receipts received at or after, e.g. 2026-01-31T00:00Z.")
@click.option("--batch", type=click.IntRange(1, 50_000), default=5000, show_default=True,
              help="Receipts read and written per transaction.")
@json_option
def receipt_reclassify(account_id: str | None, since: datetime | None, batch: int,
                       as_json: bool) -> None:
    """Recompute reason class, retryable, country and carrier of stored receipts.

    Run it after an upgrade that changed the reason-class dictionary or phonenumbers,
    or after changing an account's reason_overrides; it prints how many changed.
    """
    from dlrhub.services.reclassify import reclassify

    with runtime() as rt:
        done = reclassify(rt.sessions, account_id=account_id, since=since, batch=batch)
    emit({"examined": done.examined, "changed": done.changed}, as_json)
