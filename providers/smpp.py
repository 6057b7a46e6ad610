"""The SMPP delivery-receipt text, read by one tolerant parser every gateway adapter uses.

The text is the de-facto format of SMPP 3.4 Appendix B (informative, not normative)::

    id:IIIIIIIIII sub:SSS dlvrd:DDD submit date:YYMMDDhhmm done date:YYMMDDhhmm stat:DDDDDDD
    err:E text:....................

SMSCs differ in the details, so the parser is tolerant: keys in any case and with any
spacing (``Submit Date:``, ``submit_date:``), fields missing or in another order, dates of
10 (``YYMMDDhhmm``) or 12 (``YYMMDDhhmmss``) digits in the SMSC's local time, ids in hex
or decimal (kept as sent), ``err`` in decimal or hex, and a ``text`` that may hold
spaces, colons or nothing. Chinese CMPP gateways put the carrier's code (``MK:0001``,
``DB:0141``) in ``stat``: any state but the standard ones reads as failed, with the code
kept for the reason dictionary.

Sources: SMPP v3.4 Issue 1.2 Appendix B and the ``message_state`` values of §5.2.28
(SMPP v5.0 adds ``SCHEDLD`` and ``SKIPPED``), as explained at
https://melroselabs.scrollhelp.site/ssg/delivery-receipts-dlrs; GSM MAP error codes of
3GPP TS 29.002 §17.6.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from zoneinfo import ZoneInfo

from dlrhub.providers.base import ParseError
from dlrhub.providers.common import as_utc

# stat (message_state) → dlrhub status. ACCEPTD is "accepted by the SMSC", not by the
# handset, so it is not final; UNKNOWN is final but says nothing.
STATES = {
    "SCHEDLD": "pending",  # 0, SMPP 5.0
    "ENROUTE": "pending",  # 1
    "DELIVRD": "delivered",  # 2
    "EXPIRED": "expired",  # 3
    "DELETED": "failed",  # 4
    "UNDELIV": "failed",  # 5
    "ACCEPTD": "pending",  # 6
    "UNKNOWN": "unknown",  # 7
    "REJECTD": "rejected",  # 8
    "SKIPPED": "failed",  # 9, SMPP 5.0
}

# A key, as any SMSC spells it: case, spaces or underscores between words, and spaces
# before the colon are tolerated. "text" ends the fields: what follows is the text.
# A key starts the text or follows a space: "stat:ID:0002" is a stat, not an id.
_KEY = re.compile(
    r"(?i)(?<!\S)(id|sub|dlvrd|submit[ _]*date|done[ _]*date|stat|err|text)[ \t]*:")
_DIGITS = re.compile(r"[0-9]+")
_HEX = re.compile(r"(?i)(?:0x)?[0-9a-f]+")


@dataclass(frozen=True, slots=True)
class Receipt:
    """The fields of one receipt text, each as sent (``None`` where it is missing)."""

    id: str | None = None
    sub: str | None = None
    dlvrd: str | None = None
    submit_date: str | None = None
    done_date: str | None = None
    stat: str | None = None
    err: str | None = None
    text: str | None = None

    @property
    def status(self) -> str:
        """Return the dlrhub status of ``stat``: a carrier's code in it reads as failed."""
        return status_of(self.stat)

    @property
    def error_code(self) -> str | None:
        """Return the code a failure is classified by, ``None`` for a success or a pending.

        A carrier's code in ``stat`` (``MK:0001``) is the code; otherwise a non-zero
        ``err`` read as a GSM MAP error (``MAP:27``), and else the state itself.
        """
        if self.status in ("delivered", "pending"):
            return None
        stat = (self.stat or "").upper()
        if stat and stat not in STATES:
            return self.stat
        number = error_number(self.err)
        if number:
            return f"MAP:{number}"
        return stat or None


_SEPARATORS = re.compile(r"[ _]+")


@lru_cache(maxsize=64)
def _key_name(key: str) -> str:
    """Return a receipt key as a field name: ``Submit date`` -> ``submit_date``.

    Cached: a receipt has eight keys, and SMSCs spell them a handful of ways.
    """
    return _SEPARATORS.sub("_", key.lower())


def parse_receipt(text: str) -> Receipt:
    """Read an SMPP receipt text, or raise ``ParseError`` when it has neither id nor stat.

    Each value is the first word after its key, but ``stat``, which runs to the next key
    (a carrier's code may hold a space: ``807 ERR``), and ``text``, the rest of the line
    after ``text:`` (spaces and colons included); ``None`` when empty.
    """
    found = list(_KEY.finditer(text))
    values: dict[str, str] = {}
    for index, match in enumerate(found):
        key = _key_name(match.group(1))
        if key in values:
            continue  # the first one counts; a repeat is more likely inside the text
        if key == "text":
            rest = text[match.end():].strip()
            if rest:
                values[key] = rest
            break
        end = found[index + 1].start() if index + 1 < len(found) else len(text)
        words = text[match.end():end].split()
        if words:
            values[key] = " ".join(words) if key == "stat" else words[0]
    receipt = Receipt(**values)
    if receipt.id is None and receipt.stat is None:
        raise ParseError("the delivery receipt text has neither id: nor stat:")
    return receipt


def status_of(stat: str | None) -> str:
    """Return the dlrhub status of a ``stat``: a state's name, or a carrier's code.

    A number is a carrier's code too (China Mobile's ``2``), never the message_state
    number of the TLV, which the receipt text does not carry.
    """
    if stat is None or not stat.strip():
        return "unknown"
    return STATES.get(stat.strip().upper(), "failed")


def state_name(stat: str | None) -> str | None:
    """Return a stat as the dictionary keys it: stripped and upper case, ``None`` if blank."""
    if stat is None:
        return None
    return stat.strip().upper() or None


def error_number(err: str | None) -> int | None:
    """Read ``err`` in decimal (``000``, ``027``) or hex (``0x1B``); ``None`` if neither."""
    if err is None:
        return None
    value = err.strip()
    if _DIGITS.fullmatch(value):
        return int(value)
    if value.lower().startswith("0x") and _HEX.fullmatch(value):
        return int(value, 16)
    return None


def receipt_time(value: str | None, tz: ZoneInfo, field: str) -> datetime | None:
    """Read ``YYMMDDhhmm`` or ``YYMMDDhhmmss`` (the SMSC's local time, in ``tz``) as UTC.

    ``None`` when absent; a value of another length or an impossible date raises
    ``ParseError``.
    """
    if value is None or not value.strip():
        return None
    raw = value.strip()
    if not _DIGITS.fullmatch(raw) or len(raw) not in (10, 12):
        raise ParseError(f"field '{field}' is not a time of the form YYMMDDhhmm[ss]: {raw!r}")
    try:
        # Sliced rather than strptime'd: a tenth of the cost, on every receipt.
        local = datetime(2000 + int(raw[0:2]), int(raw[2:4]), int(raw[4:6]), int(raw[6:8]),
                         int(raw[8:10]), int(raw[10:12]) if len(raw) == 12 else 0, tzinfo=tz)
    except ValueError as ex:
        raise ParseError(f"field '{field}' is not a valid time: {raw!r}") from ex
    return as_utc(local, field, raw)


def id_forms(value: str) -> tuple[str, ...]:
    """Return an SMSC id as sent, then as the other base would write it.

    SMPP 3.3 SMSCs often report in hex an id their submit_sm_resp gave in decimal (or the
    reverse); a tenant matching receipts to sends can try each form. Ids are strings
    throughout: a 64-bit id never passes through a float.
    """
    raw = value.strip()
    forms = [raw]
    if _DIGITS.fullmatch(raw):
        forms.append(format(int(raw), "x"))
    if _HEX.fullmatch(raw):
        forms.append(str(int(raw.removeprefix("0x").removeprefix("0X"), 16)))
    return tuple(dict.fromkeys(forms))
