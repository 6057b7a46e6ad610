"""The dlrhub command: serve, run the parts, migrate, manage tenants' records, simulate."""

from __future__ import annotations

import click

from dlrhub import __version__
from dlrhub.cli.accounts import account
from dlrhub.cli.admin import key, tenant
from dlrhub.cli.backup import backup
from dlrhub.cli.messages import messages
from dlrhub.cli.processes import api, beat_command, db, serve, worker
from dlrhub.cli.purge import purge
from dlrhub.cli.receipts import receipt
from dlrhub.cli.simulate import simulate
from dlrhub.cli.webhooks import delivery, endpoint


class _InOrder(click.Group):
    """A group that lists its commands in the order they were added, not sorted."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        """Return the command names as added."""
        return list(self.commands)


@click.group(cls=_InOrder, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="dlrhub", message="%(prog)s %(version)s")
def cli() -> None:
    """Run and manage dlrhub, the hub for SMS delivery receipts.

    Settings come from DLRHUB_* environment variables (see the README); the record
    commands work on the database they name, as the API does.
    """


for command in (serve, api, worker, beat_command, db, tenant, key, account, endpoint,
                receipt, messages, delivery, simulate, backup, purge):
    cli.add_command(command)


def main(argv: list[str] | None = None) -> int:
    """Run the dlrhub command line and return its exit status."""
    try:
        cli.main(args=argv, prog_name="dlrhub")
    except SystemExit as ex:
        return ex.code if isinstance(ex.code, int) else 0 if ex.code is None else 1
    return 0
