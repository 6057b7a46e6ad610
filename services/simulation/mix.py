"""What a scenario is made of: the failure mix, the carriers, and the shares of oddities.

A mix is written ``class=percent,...`` (``invalid_number=5,rate_limited=3``): each
percentage is of all messages, the rest are delivered.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from dlrhub.models import ReasonClass
from dlrhub.services.simulation.phones import CARRIERS

PERCENT = 100.0


@dataclass(frozen=True)
class Scenario:
    """The shares (percent of messages) a simulated run is drawn with."""

    failures: Mapping[ReasonClass, float] = field(default_factory=dict)
    carriers: Mapping[str, float] = field(
        default_factory=lambda: {"china_mobile": 50.0, "china_unicom": 30.0,
                                 "china_telecom": 20.0})
    # Long messages (2 or 3 segments), reported per part where the provider does.
    parts: float = 0.0
    # Receipts reported long after the send (20 minutes to 6 hours).
    late: float = 0.0
    # Messages that also get a second, disagreeing report after their final one.
    out_of_order: float = 0.0
    # Messages whose receipt is never sent.
    never: float = 0.0


# `demo` shows every feature; `degraded` is a provider having a bad hour (for an alert
# on its delivery rate); `clean` delivers everything.
PRESETS: Mapping[str, Scenario] = {
    "demo": Scenario(
        failures={ReasonClass.invalid_number: 4, ReasonClass.unreachable_powered_off: 3,
                  ReasonClass.suspended_or_no_credit: 2, ReasonClass.blacklisted: 2,
                  ReasonClass.rate_limited: 2, ReasonClass.content_blocked: 1,
                  ReasonClass.expired: 2},
        parts=10, late=3, out_of_order=2, never=3),
    "degraded": Scenario(
        failures={ReasonClass.network_error: 10, ReasonClass.gateway_or_protocol_error: 10,
                  ReasonClass.rate_limited: 15, ReasonClass.unreachable_powered_off: 5},
        parts=5, late=5, out_of_order=1, never=10),
    "clean": Scenario(),
}


def parse_shares(text: str, allowed: Iterable[str], what: str) -> dict[str, float]:
    """Read ``name=percent,...``; raise ``ValueError`` saying what is wrong and what is allowed."""
    names = list(allowed)
    shares: dict[str, float] = {}
    for item in (part.strip() for part in text.split(",")):
        if not item:
            continue
        name, equals, value = (piece.strip() for piece in item.partition("="))
        if not equals:
            raise ValueError(f"{item!r}: write {what}=percent, e.g. {names[0]}=5")
        if name not in names:
            raise ValueError(f"{name!r} is not a {what} (one of {', '.join(names)})")
        if name in shares:
            raise ValueError(f"{name!r} is given twice")
        try:
            share = float(value)
        except ValueError:
            raise ValueError(f"{item!r}: {value!r} is not a number") from None
        if not 0 <= share <= PERCENT:
            raise ValueError(f"{item!r}: a percentage is from 0 to 100")
        shares[name] = share
    total = sum(shares.values())
    if total > PERCENT:
        raise ValueError(f"the {what} shares add up to {total:g} %, more than 100 %")
    return shares


def parse_mix(text: str) -> dict[ReasonClass, float]:
    """Read a failure mix: reason classes and the percentage of messages of each."""
    shares = parse_shares(text, list(ReasonClass), "reason class")
    return {ReasonClass(name): share for name, share in shares.items()}


def parse_carriers(text: str) -> dict[str, float]:
    """Read a carrier mix; it must name at least one carrier with a share above 0."""
    shares = parse_shares(text, CARRIERS, "carrier")
    if not any(shares.values()):
        raise ValueError("name at least one carrier with a share above 0")
    return shares


def check_share(value: float, what: str) -> float:
    """Return a percentage of messages, or raise ``ValueError``."""
    if not 0 <= value <= PERCENT:
        raise ValueError(f"{what}: a percentage is from 0 to 100, not {value:g}")
    return value


def build(preset: str, *, failures: Mapping[ReasonClass, float] | None = None,
          carriers: Mapping[str, float] | None = None, parts: float | None = None,
          late: float | None = None, out_of_order: float | None = None,
          never: float | None = None) -> Scenario:
    """Return a preset with the shares given here instead of its own; raise ``ValueError``."""
    if preset not in PRESETS:
        raise ValueError(f"no scenario {preset!r} (one of {', '.join(PRESETS)})")
    base = PRESETS[preset]
    scenario = Scenario(
        failures=base.failures if failures is None else failures,
        carriers=base.carriers if carriers is None else carriers,
        parts=base.parts if parts is None else check_share(parts, "parts"),
        late=base.late if late is None else check_share(late, "late"),
        out_of_order=(base.out_of_order if out_of_order is None
                      else check_share(out_of_order, "out of order")),
        never=base.never if never is None else check_share(never, "never sent"),
    )
    if scenario.late + scenario.out_of_order + scenario.never > PERCENT:
        raise ValueError("the late, out-of-order and never-sent shares add up to more "
                         "than 100 %")
    return scenario
