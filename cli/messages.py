"""Message rows on the command line: build them from receipts stored before they existed."""

from __future__ import annotations

import click

from dlrhub.cli.output import runtime, tenant_session


@click.group("messages")
def messages() -> None:
    """Manage the per-message status that ingest keeps beside the receipts."""


@messages.command("rebuild")
@click.option("--tenant", "tenant_id", metavar="ID",
              help="Only this tenant's messages (default: every tenant's, one by one).")
def messages_rebuild(tenant_id: str | None) -> None:
    """Build the message rows again from the stored receipts.

    Run it once after upgrading to a dlrhub that keeps message rows (receipts stored
    before have none), while no worker ingests: the rows are deleted and rebuilt from
    the status reports in arrival order, in batches; no correction event is sent again.
    """
    from dlrhub.models import utcnow
    from dlrhub.services.messages import rebuild

    if tenant_id is None:
        with runtime() as rt, rt.sessions() as session:
            read = rebuild(session, now=utcnow())
    else:
        with tenant_session(tenant_id) as (_rt, session):
            read = rebuild(session, tenant_id=tenant_id, now=utcnow())
    click.echo(f"message rows rebuilt from {read} status reports")
