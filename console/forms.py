"""Reading the console's edit forms: lists, checkboxes, header lines, refusals as text.

A form posts one value per name (``Console.form``), so a set of checkboxes is posted as
one name each, ``<prefix>.<value>``; a list is one entry per line of a textarea.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from pydantic import ValidationError

from dlrhub.services.errors import InvalidInput

MAX_LINES = 100


def lines(text: str | None, field: str) -> list[str]:
    """Return the non-blank lines (or comma-separated entries) of the textarea ``field``."""
    entries = [e.strip() for line in (text or "").splitlines() for e in line.split(",")]
    kept = [e for e in entries if e]
    if len(kept) > MAX_LINES:
        raise InvalidInput(field, f"at most {MAX_LINES} entries")
    return kept


def checked(fields: dict[str, str], prefix: str) -> list[str]:
    """Return the values of the checked boxes named ``<prefix>.<value>``."""
    start = f"{prefix}."
    return sorted(name[len(start):] for name, value in fields.items()
                  if name.startswith(start) and value)


def header_lines(text: str | None) -> dict[str, str]:
    """Return ``Name: value`` lines as headers; a line without a colon is refused."""
    out: dict[str, str] = {}
    for index, line in enumerate((text or "").splitlines()):
        if not line.strip():
            continue
        name, colon, value = line.partition(":")
        if not colon or not name.strip():
            raise InvalidInput(f"headers[{index}]", "write each header as Name: value")
        out[name.strip()] = value.strip()
    return out


def number(fields: dict[str, str], name: str, default: float | None = None) -> float | None:
    """Return a number field, ``default`` when blank; refuse what is not a number."""
    value = fields.get(name, "").strip()
    if not value:
        return default
    try:
        return float(value)
    except ValueError as ex:
        raise InvalidInput(name, "must be a number") from ex


def local_time(fields: dict[str, str], name: str, tz: ZoneInfo) -> datetime | None:
    """Return a ``datetime-local`` field read in the viewer's zone, ``None`` when blank."""
    value = fields.get(name, "").strip()
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError as ex:
        raise InvalidInput(name, "not a date and time") from ex
    return moment.replace(tzinfo=tz) if moment.tzinfo is None else moment


def refusal(ex: ValidationError | InvalidInput) -> str:
    """Return what is wrong with a form, naming the field, for showing beside it."""
    if isinstance(ex, InvalidInput):
        return ex.detail
    first = ex.errors()[0]
    where = ".".join(str(p) for p in first["loc"])
    return f"{where}: {first['msg']}" if where else str(first["msg"])
