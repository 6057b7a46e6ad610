"""``dlrhub backup PATH``: a consistent copy of the embedded database, while it runs."""

from __future__ import annotations

import contextlib
import os
import sqlite3
from pathlib import Path

import click
from sqlalchemy.engine import make_url


def copy_sqlite(source: Path, target: Path) -> int:
    """Copy the SQLite database ``source`` to ``target`` consistently; return its bytes.

    SQLite's online backup copies a snapshot of one read transaction, so writers that go
    on meanwhile (the API, the worker) neither stop nor tear the copy. The copy is made
    beside ``target`` and renamed into place, so ``target`` is never half written.
    """
    partial = target.with_name(f".{target.name}.partial")
    partial.unlink(missing_ok=True)
    # Read-only: a backup must not create or change the database it copies.
    # As a file: URI, percent-encoded: a "?" or "#" in the folder would otherwise end the
    # path there and open (and create) another, empty database.
    uri = f"{source.resolve().as_uri()}?mode=ro"
    with contextlib.closing(sqlite3.connect(uri, uri=True)) as src, \
            contextlib.closing(sqlite3.connect(partial)) as dst:
        src.backup(dst)
        (verdict,) = dst.execute("PRAGMA quick_check").fetchone()
        if verdict != "ok":
            raise click.ClickException(f"the copy failed its check: {verdict}")
        # One file: the copy needs no -wal beside it.
        dst.execute("PRAGMA journal_mode=DELETE")
    os.replace(partial, target)
    return target.stat().st_size


@click.command()
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--force", is_flag=True, help="Replace PATH if it exists.")
def backup(path: Path, force: bool) -> None:
    """Copy the embedded (SQLite) database to PATH, consistently, while dlrhub runs.

    For PostgreSQL use its own tools (pg_dump, or a base backup with WAL archiving):
    see the README's "Backups".
    """
    from dlrhub.config import get_settings

    settings = get_settings()
    url = make_url(settings.effective_database_url)
    if url.get_backend_name() != "sqlite" or not url.database:
        raise click.UsageError("dlrhub backup copies the embedded SQLite database; this "
                               "one is PostgreSQL: use pg_dump (see the README's Backups)")
    source = Path(url.database)
    if not source.exists():
        raise click.ClickException(f"there is no database at {source} yet (start dlrhub "
                                   "once, or check DLRHUB_DATA_DIR)")
    if path.exists() and not force:
        raise click.ClickException(f"{path} exists; give --force to replace it")
    if path.resolve() == source.resolve():
        raise click.UsageError("PATH is the database itself")
    size = copy_sqlite(source, path)
    click.echo(f"copied {source} to {path} ({size:,} bytes)")
