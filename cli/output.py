"""What every record command shares: the database session, its errors, how it prints."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import IO, TYPE_CHECKING, Any

import click
import orjson

if TYPE_CHECKING:
    # Imported where used: `dlrhub --help` and `dlrhub serve` start without the
    # database layer.
    from pydantic import BaseModel
    from sqlmodel import Session

    from dlrhub.services.runtime import Runtime


class Failure(click.ClickException):
    """A command that cannot do what was asked: one line on stderr, exit 1, no traceback."""

    def show(self, file: IO[Any] | None = None) -> None:
        """Print ``dlrhub: <why>`` on stderr."""
        click.echo(f"dlrhub: {self.format_message()}", err=True, file=file)


json_option = click.option("--json", "as_json", is_flag=True,
                           help="Print JSON (as the API answers) instead of text.")
limit_option = click.option("--limit", type=click.IntRange(1, 500), default=50,
                            show_default=True, help="Page size.")
after_option = click.option("--after", metavar="CURSOR",
                            help="The next cursor printed by the previous page.")
tenant_option = click.option("--tenant", "tenant_id", required=True, metavar="ID",
                             help="The tenant whose records these are.")


@contextmanager
def runtime() -> Iterator[Runtime]:
    """Yield the runtime of the settings; the embedded default is migrated first."""
    from dlrhub.config import get_settings
    from dlrhub.services.runtime import Runtime

    settings = get_settings()
    with failures(settings.effective_database_url):
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        if settings.database_url is None:
            # The embedded default migrates itself, as serve does; full stacks use db.
            from dlrhub.models.migrate import upgrade

            upgrade(settings.effective_database_url)
        rt = Runtime.build(settings)
        try:
            yield rt
        finally:
            rt.close()


@contextmanager
def tenant_session(tenant_id: str) -> Iterator[tuple[Runtime, Session]]:
    """Yield the runtime and a session once the tenant is known to exist.

    The API knows the tenant from its key; here it is typed, so a mistyped id is an
    error rather than an empty list (or, on create, a record of no tenant).
    """
    from dlrhub.services.tenancy import get_tenant

    with runtime() as rt, rt.sessions() as session:
        get_tenant(session, tenant_id)
        yield rt, session


def delete_and_say(tenant_id: str, record_id: str,
                   delete: Callable[[Session, str], None]) -> None:
    """Delete one of a tenant's records with ``delete(session, record_id)``, then say so."""
    with tenant_session(tenant_id) as (_rt, session):
        delete(session, record_id)
        session.commit()
    click.echo(f"deleted {record_id}")


@contextmanager
def failures(database_url: str) -> Iterator[None]:
    """Turn a refused value or a database that is down into a one-line Failure."""
    from pydantic import ValidationError
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import DBAPIError

    from dlrhub.services.errors import ServiceError

    try:
        yield
    except ServiceError as ex:
        raise Failure(ex.detail) from None
    except ValidationError as ex:
        # The API's own request models refused a value: name the field as it would.
        raise Failure("; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}"
                                for e in ex.errors())) from None
    except DBAPIError as ex:
        where = make_url(database_url).render_as_string(hide_password=True)
        reason = str(ex.orig).strip().splitlines()[0] if ex.orig else type(ex).__name__
        raise Failure(f"the database {where} failed: {reason}") from None


def document(model: BaseModel | dict[str, Any]) -> dict[str, Any]:
    """Return ``model`` as the API's JSON would have it."""
    from pydantic import BaseModel

    if isinstance(model, BaseModel):
        doc: dict[str, Any] = model.model_dump(mode="json")
        return doc
    loaded: dict[str, Any] = orjson.loads(orjson.dumps(model))
    return loaded


def emit(model: BaseModel | dict[str, Any], as_json: bool) -> None:
    """Print one record: ``name: value`` lines, or JSON."""
    doc = document(model)
    if as_json:
        click.echo(orjson.dumps(doc, option=orjson.OPT_INDENT_2).decode())
        return
    for key, value in doc.items():
        click.echo(f"{key}: {_text(value)}")


def emit_page(rows: Sequence[BaseModel | dict[str, Any]], cursor: str | None,
              columns: Sequence[str], as_json: bool) -> None:
    """Print a page of records: a table of ``columns`` and the next cursor, or JSON."""
    docs = [document(r) for r in rows]
    if as_json:
        click.echo(orjson.dumps({"data": docs, "next": cursor},
                                option=orjson.OPT_INDENT_2).decode())
        return
    if not docs:
        click.echo("(none)")
    else:
        cells = [[_text(d.get(c)) for c in columns] for d in docs]
        widths = [max(len(c), *(len(row[i]) for row in cells)) for i, c in enumerate(columns)]
        for row in [[c.upper() for c in columns], *cells]:
            click.echo("  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)).rstrip())
    if cursor:
        click.echo(f"next: {cursor}")


def _text(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, list | dict):
        return orjson.dumps(value).decode() if value else "-"
    return str(value)


def json_object(ctx: click.Context | None, param: click.Parameter | None,
                value: str | None) -> dict[str, Any] | None:
    """Parse an option given as a JSON object, e.g. '{"app_key": "…"}', or fail naming it."""
    if value is None:
        return None
    try:
        doc = orjson.loads(value)
    except orjson.JSONDecodeError as ex:
        raise click.BadParameter(f"is not valid JSON: {ex}", ctx, param) from None
    if not isinstance(doc, dict):
        raise click.BadParameter("must be a JSON object", ctx, param)
    return doc


def instant(ctx: click.Context, param: click.Parameter,
            value: str | None) -> datetime | None:
    """Parse an ISO 8601 time with a zone, e.g. 2026-01-31T12:00:00Z, or fail naming it."""
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not an ISO 8601 time", ctx, param) from None
    if moment.tzinfo is None:
        raise click.BadParameter(f"{value!r} has no zone (add Z or +08:00)", ctx, param)
    return moment
