"""Where a phone number is: its ISO 3166 region and its carrier, from its prefix.

phonenumbers' metadata decides both. The carrier is the one the prefix was allocated
to: a ported number keeps its old carrier here. Ingest asks for every receipt, so the
answers are cached: a carrier depends only on as many leading digits as the longest
prefix phonenumbers knows for the calling code (6 for +86), and in a calling code of
one region the region depends on nothing else, so most numbers cost a dictionary
look-up.
"""

from __future__ import annotations

import re
from functools import lru_cache

import phonenumbers
from phonenumbers.carrier import name_for_valid_number
from phonenumbers.carrierdata import CARRIER_DATA

# Stable slugs for the mainland carriers, whatever phonenumbers calls them in English.
SLUGS = {"China Mobile": "china_mobile", "China Telecom": "china_telecom",
         "China Unicom": "china_unicom"}
SLUG_SIZE = 40  # the receipt's carrier column
_NOT_SLUG = re.compile(r"[^a-z0-9]+")
_REGION = re.compile(r"[A-Z]{2}")
# Bounds the prefix cache (+86 needs at most 10,000 keys); it is emptied when full.
_MAX_PREFIXES = 200_000
_MAX_NUMBERS = 65_536
_prefixes: dict[str, tuple[str | None, str | None]] = {}


def slug(name: str) -> str | None:
    """Return the carrier slug of phonenumbers' English carrier ``name``."""
    if not name:
        return None
    known = SLUGS.get(name)
    if known is not None:
        return known
    return _NOT_SLUG.sub("_", name.lower()).strip("_")[:SLUG_SIZE] or None


def locate(phone: str | None) -> tuple[str | None, str | None]:
    """Return the (country, carrier) of an E.164 number; None where not known.

    A number not in E.164 (kept as the provider gave it) has neither; a masked one
    (``+86138****0000``) has the country of its calling code but no carrier.
    """
    if not phone or phone[0] != "+":
        return None, None
    digits = phone[1:]
    if not digits.isdigit():
        lead = digits[:len(digits) - len(digits.lstrip("0123456789"))]
        return _single_region(_calling_code(lead)), None
    code = _calling_code(digits)
    region = _single_region(code)
    if region is None:
        return _by_number(digits)
    key = digits[:_prefix_size(code)]
    found = _prefixes.get(key)
    if found is not None:
        return found
    found = (region, _carrier(digits))
    if len(_prefixes) >= _MAX_PREFIXES:
        _prefixes.clear()
    _prefixes[key] = found
    return found


def _calling_code(digits: str) -> str:
    """Return the calling code ``digits`` start with, or "" where none does."""
    for size in (1, 2, 3):
        if len(digits) >= size and int(digits[:size]) in phonenumbers.COUNTRY_CODE_TO_REGION_CODE:
            return digits[:size]
    return ""


@lru_cache(maxsize=1024)
def _single_region(code: str) -> str | None:
    """Return the region of a calling code that has only one, else None."""
    regions = phonenumbers.COUNTRY_CODE_TO_REGION_CODE.get(int(code)) if code else None
    if not regions or len(regions) != 1:
        return None
    return regions[0] if _REGION.fullmatch(regions[0]) else None


@lru_cache(maxsize=1024)
def _prefix_size(code: str) -> int:
    """Return how many leading digits decide the carrier in this calling code."""
    return max((len(k) for k in CARRIER_DATA if k.startswith(code)), default=len(code))


@lru_cache(maxsize=_MAX_NUMBERS)
def _by_number(digits: str) -> tuple[str | None, str | None]:
    """Return (region, carrier) of a number whose calling code several regions share."""
    try:
        number = phonenumbers.parse(f"+{digits}")
    except phonenumbers.NumberParseException:
        return None, None
    region = phonenumbers.region_code_for_number(number)
    carrier = slug(name_for_valid_number(number, "en"))
    return (region if region and _REGION.fullmatch(region) else None), carrier


def _carrier(digits: str) -> str | None:
    try:
        number = phonenumbers.parse(f"+{digits}")
    except phonenumbers.NumberParseException:
        return None
    return slug(name_for_valid_number(number, "en"))
