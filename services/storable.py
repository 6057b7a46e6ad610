"""Bound an adapter's event to what both databases can store (DESIGN §1: nothing stranded).

PostgreSQL refuses NUL in text and ``\\u0000`` in JSONB (GSM 03.38 encodes ``@`` as
0x00, so providers do send it), neither database takes a lone surrogate, and an
integer column holds 32 bits. A value one database cannot hold must not reach it: it
would roll back the whole batch of callbacks it came with. The raw body in the inbox
keeps every byte as sent; only the normalized fields are made storable here.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any

from dlrhub.models import EventType, ReceiptStatus
from dlrhub.providers.base import Event, ParseError

# What a refused character becomes in a field: the Unicode replacement character.
REPLACEMENT = "\ufffd"
# The receipt's integer columns are 32-bit on PostgreSQL (int4).
INT_MIN, INT_MAX = -(2**31), 2**31 - 1
# Integers inside the raw record: SQLite's JSON (and orjson) stop at 64 bits.
_RAW_INT_MIN, _RAW_INT_MAX = -(2**63), 2**63 - 1
_SURROGATE = re.compile("[\ud800-\udfff]")
_TEXT_FIELDS = ("message_id", "reference", "phone", "provider_status", "error_code",
                "error_message", "price", "text", "part")
# Plain strings: adapters give plain strings, and this runs for every record.
_STATUSES = frozenset(s.value for s in ReceiptStatus)
_TYPES = frozenset(t.value for t in EventType)


def clean_text(value: str) -> str:
    """Return ``value`` without the characters a database refuses (NUL, lone surrogates)."""
    if "\x00" in value:
        value = value.replace("\x00", REPLACEMENT)
    if not value.isascii() and _SURROGATE.search(value):
        value = _SURROGATE.sub(REPLACEMENT, value)
    return value


def storable(event: Event) -> Event:
    """Make ``event`` storable in place and return it, or raise ``ParseError`` naming why.

    Text fields and the raw record lose what a database refuses (see ``clean_text``);
    a number out of its column's range refuses the record, with the field and value.
    Checks are cheap on purpose: this runs for every record of the hot path.
    """
    if event.type not in _TYPES:
        raise ParseError(f"event type {event.type!r} is not one dlrhub stores")
    if event.status not in _STATUSES:
        raise ParseError(f"status {event.status!r} is not one dlrhub stores")
    segments = event.segments
    if segments is not None and (segments > INT_MAX or segments < INT_MIN):
        raise ParseError(f"field 'segments' is out of range: {segments}")
    if event.reported_at is not None and event.reported_at.tzinfo is None:
        raise ParseError("field 'reported_at' has no time zone")
    if event.submitted_at is not None and event.submitted_at.tzinfo is None:
        raise ParseError("field 'submitted_at' has no time zone")
    # Unrolled, and only "in" and isascii (which CPython answers from a flag): the
    # regular expression and the copies run only for a field that may need them.
    for value in (event.message_id, event.reference, event.phone, event.provider_status,
                  event.error_code, event.error_message, event.price, event.text,
                  event.part):
        if value and ("\x00" in value or not value.isascii()):
            _clean_fields(event)
            break
    if not _plain(event.raw):
        event.raw = _clean_json(event.raw)
    return event


def _clean_fields(event: Event) -> None:
    for name in _TEXT_FIELDS:
        value = getattr(event, name)
        if value is not None and value.__class__ is str:
            cleaned = clean_text(value)
            if cleaned is not value:
                setattr(event, name, cleaned)


def _plain(raw: Mapping[str, Any]) -> bool:
    """Tell whether a flat record of strings and small numbers needs no cleaning (common)."""
    for key, value in raw.items():
        if key.__class__ is not str or "\x00" in key:
            return False
        kind = value.__class__
        if kind is str:
            if "\x00" in value or (not value.isascii() and _SURROGATE.search(value)):
                return False
        elif kind is int:
            if value > _RAW_INT_MAX or value < _RAW_INT_MIN:
                return False
        elif value is not None and kind is not bool:
            return False  # a float, a nested object or list: the full walk decides
    return True


def _clean_json(value: Any) -> Any:
    """Return a JSON-able copy of ``value`` that PostgreSQL's JSONB and SQLite accept."""
    if isinstance(value, str):
        return clean_text(value)
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int):
        return value if _RAW_INT_MIN <= value <= _RAW_INT_MAX else str(value)
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, Mapping):
        return {clean_text(str(k)): _clean_json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean_json(v) for v in value]
    return clean_text(str(value))
