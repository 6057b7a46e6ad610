"""``dlrhub purge``: delete the rows older than their retention periods, now."""

from __future__ import annotations

import click

from dlrhub.cli.output import Failure, json_option, runtime


@click.command("purge")
@click.option("--dry-run", is_flag=True,
              help="Count what would be deleted, table by table; delete nothing.")
@click.option("--tenant", "tenant_id", metavar="ID", help="Only this tenant's rows.")
@json_option
def purge(dry_run: bool, tenant_id: str | None, as_json: bool) -> None:
    """Purge what is older than each tenant's retention periods (the beat does it too).

    Pending inbox rows, deliveries and expectations are never purged; the delivery
    analytics keep their counts. Runs until done, a batch per transaction.
    """
    import orjson

    from dlrhub.models import utcnow
    from dlrhub.services import retention
    from dlrhub.services.onlyone import only_one
    from dlrhub.services.tenancy import get_tenant
    from dlrhub.tasks.purge import LOCK

    with runtime() as rt:
        if tenant_id is not None:
            with rt.sessions() as session:
                get_tenant(session, tenant_id)
        defaults = retention.Periods.of_settings(rt.settings)
        if dry_run:
            report = retention.would_purge(rt.sessions, now=utcnow(), defaults=defaults,
                                           tenant_id=tenant_id)
        else:
            with only_one(rt.engine, LOCK, rt.settings.data_dir) as mine:
                if not mine:
                    raise Failure("another purge is running; try again when it is done")
                report = retention.purge(rt.sessions, now=utcnow(), defaults=defaults,
                                         batch=rt.settings.purge_batch,
                                         pause=rt.settings.purge_pause, tenant_id=tenant_id)
    if as_json:
        click.echo(orjson.dumps({"dry_run": dry_run, "deleted": report.deleted}).decode())
        return
    verb = "would delete" if dry_run else "deleted"
    width = max(len(t) for t in report.deleted)
    for table, rows in report.deleted.items():
        click.echo(f"{table:<{width}}  {verb} {rows:,}")
