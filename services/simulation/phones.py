"""Recipients of simulated messages: mainland mobile numbers of a chosen carrier.

The prefixes are the 3-digit mobile number blocks of each carrier; phonenumbers'
carrier data (``insight.numbers.locate``, what ingest uses) has the last word, since
some blocks hold a few ranges of another carrier (1349 is not China Mobile's).
"""

from __future__ import annotations

import random

from dlrhub.services.insight.numbers import locate

PREFIXES: dict[str, tuple[str, ...]] = {
    "china_mobile": ("134", "135", "136", "137", "138", "139", "147", "150", "151",
                     "152", "157", "158", "159", "178", "182", "183", "184", "187",
                     "188", "198"),
    "china_unicom": ("130", "131", "132", "145", "155", "156", "166", "175", "176",
                     "185", "186"),
    "china_telecom": ("133", "153", "173", "177", "180", "181", "189", "199"),
}
CARRIERS = tuple(PREFIXES)
# A block is almost all one carrier's: a few draws always find one of its numbers.
_TRIES = 50


def draw_phone(rng: random.Random, carrier: str) -> str:
    """Return a random E.164 number that phonenumbers places on ``carrier``."""
    for _ in range(_TRIES):
        phone = f"+86{rng.choice(PREFIXES[carrier])}{rng.randrange(10**8):08d}"
        if locate(phone)[1] == carrier:
            return phone
    raise ValueError(f"no number of {carrier} found in {_TRIES} draws")  # pragma: no cover
