"""Which failure code a provider reports for a reason class on a carrier's number.

Drawn from the shipped dictionary, and checked with the look-up ingest uses: a code
is a candidate only if ``classify`` gives it the class wanted for that provider and
carrier. A provider that passes the carrier's code through (``failure_codes`` None)
draws from its own rows and the carrier's first, then from the codes all mainland
carriers share, then from the standard ones; the others from their own codes. Where no
code of the class exists, the provider's generic failure is sent and ``expressed``
says what dlrhub will make of it.
"""

from __future__ import annotations

import re
from functools import cache

from dlrhub.models import ReasonClass
from dlrhub.providers.registry import PROVIDERS
from dlrhub.services.insight.reasons import ANY, MAINLAND, classify, dictionary

# Codes as a gateway sends them: the dictionary also keys families (``MI:*``) and a few
# of its source's patterns (``EXPIRED MI：NNNN``), which no receipt carries as such.
_SENDABLE = re.compile(r"[A-Z0-9][A-Z0-9:_\-]*(?: [A-Z0-9:_\-]+)?")
# GSM MAP errors are keyed MAP:<n> by dlrhub itself; no provider sends them so.
_INTERNAL = "MAP:"
# What a carrier-code provider sends when the dictionary has no code of a class: the
# SMPP receipt state "undeliverable" (SMPP 3.4 Appendix B), which says nothing more.
GENERIC = "UNDELIV"
COUNTRY = "CN"


def expressed(provider: str, code: str, carrier: str) -> ReasonClass | None:
    """Return the class dlrhub gives a failure report of ``provider`` with ``code``."""
    status = PROVIDERS[provider].failure_status(code)
    return classify(provider, status, code, carrier=carrier, country=COUNTRY).reason_class


@cache
def candidates(provider: str, carrier: str, reason_class: ReasonClass) -> tuple[str, ...]:
    """Return the codes ``provider`` may report for ``reason_class`` on ``carrier``.

    Empty when the provider cannot say so for that carrier.
    """
    own = PROVIDERS[provider].failure_codes
    tiers: list[list[str]]
    if own is not None:
        tiers = [list(own)]
    else:
        entries = dictionary().entries
        tiers = [[code for (p, c, code) in entries
                  if (p == provider and c in (carrier, ANY)) or (p == ANY and c == carrier)],
                 [code for (p, c, code) in entries if p == ANY and c == MAINLAND],
                 [code for (p, c, code) in entries
                  if p == ANY and c == ANY and not code.startswith(_INTERNAL)]]
    for tier in tiers:
        found = sorted({code for code in tier if _SENDABLE.fullmatch(code)
                        and "NNNN" not in code
                        and expressed(provider, code, carrier) == reason_class})
        if found:
            return tuple(found)
    return ()


def generic(provider: str) -> str:
    """Return the failure code a provider sends when it cannot say why."""
    own = PROVIDERS[provider].failure_codes
    return own[0] if own else GENERIC
