"""A simulated run, message by message: recipient, outcome, code, parts, times, reports.

Everything is drawn from one seeded ``random.Random``: the same seed, scenario, provider
and ``now`` give the same plan. Shares become exact counts (5 % of 200 messages is 10
of them), placed at random.
"""

from __future__ import annotations

import math
import random
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from dlrhub.models import ReasonClass
from dlrhub.providers.base import PlannedReport
from dlrhub.providers.registry import PROVIDERS
from dlrhub.services.simulation.codes import candidates, expressed, generic
from dlrhub.services.simulation.mix import Scenario
from dlrhub.services.simulation.phones import draw_phone

DELIVERED = "delivered"
# Handset latency (submitted → reported): log-normal, median 5 s, 99th percentile
# about a minute, the shape of a healthy mainland route; late ones take 20 min to 6 h.
LATENCY_MEDIAN, LATENCY_SIGMA, LATENCY_MAX = 5.0, 1.0, 600
LATE_MIN, LATE_MAX = 20 * 60, 6 * 3600
# Receipt lag (reported → now, when it is posted): median 2 s.
LAG_MEDIAN, LAG_SIGMA, LAG_MAX = 2.0, 0.8, 120
# What the second, disagreeing final of a delivered message says, when the mix has no
# failure to borrow: the handset was off.
DISAGREEING = ReasonClass.unreachable_powered_off


@dataclass(frozen=True)
class Message:
    """One simulated message and the reports the provider sends about it."""

    message_id: str
    phone: str
    carrier: str
    template: str | None
    reference: str
    # The mix's outcome (None: delivered) and the class dlrhub will give its report,
    # which differ where the provider cannot say why (NXCloud says only UNDELIVR).
    wanted: ReasonClass | None
    reason_class: ReasonClass | None
    status: str
    code: str | None
    segments: int
    submitted_at: datetime
    reported_at: datetime
    late: bool = False
    never: bool = False
    # The final report (one per part where the provider reports parts), and a second,
    # disagreeing final sent after it (out of order).
    reports: tuple[PlannedReport, ...] = ()
    after: PlannedReport | None = None
    # The class dlrhub gives the second final (None: it says delivered).
    second_class: ReasonClass | None = None


@dataclass(frozen=True)
class Plan:
    """The messages of a run, in order."""

    provider: str
    scenario: Scenario
    messages: tuple[Message, ...]

    def phase(self, name: str) -> list[PlannedReport]:
        """Return the reports of one phase, in the order they are to be posted.

        ``first``: the final reports of the messages that are not late; ``after``: the
        disagreeing finals, once every first is in; ``late``: the late receipts, last.
        """
        if name == "after":
            return [m.after for m in self.messages if m.after is not None]
        late = name == "late"
        return [r for m in self.messages if m.late == late for r in m.reports]


@dataclass
class Summary:
    """What a plan contains, to compare with what the API reports."""

    messages: int = 0
    delivered: int = 0
    classes: Counter[str] = field(default_factory=Counter)
    # Failures the provider could not express as the mix wanted: wanted → expressed.
    inexpressible: Counter[tuple[str, str]] = field(default_factory=Counter)
    carriers: Counter[str] = field(default_factory=Counter)
    multipart: int = 0
    part_reports: int = 0
    late: int = 0
    out_of_order: int = 0
    # What the second finals say: "delivered" or the class dlrhub gives them.
    second_finals: Counter[str] = field(default_factory=Counter)
    never: int = 0
    reports: int = 0


def allot(total: int, shares: Mapping[str, float]) -> dict[str, int]:
    """Return whole counts of ``total`` in proportion to percentage ``shares``.

    Largest remainders: the counts add up to the rounded share of the whole.
    """
    exact = {name: total * share / 100 for name, share in shares.items()}
    counts = {name: math.floor(value) for name, value in exact.items()}
    target = min(total, round(total * sum(shares.values()) / 100))
    by_remainder = sorted(exact, key=lambda name: (counts[name] - exact[name], name))
    for name in by_remainder[:max(0, target - sum(counts.values()))]:
        counts[name] += 1
    return counts


def plan(provider: str, scenario: Scenario, *, count: int, seed: int, now: datetime,
         prefix: str = "sim-", templates: Sequence[str] = (),
         hold_late: int = 0, on_time_within: int | None = None) -> Plan:
    """Plan ``count`` messages of ``scenario`` for ``provider``, reported around ``now``.

    Late receipts are reported ``hold_late`` seconds after ``now``, when the simulator
    posts them. ``on_time_within`` caps the time from send to ``now`` of the others: the
    simulator registers their expectations at ``now`` with ``sent_at`` their send time,
    and passes half their deadline, so that no receipt on time is overdue before it
    is posted.
    """
    rng = random.Random(seed)
    now = now.replace(microsecond=0)
    outcomes = _spread(rng, count, {rc.value: share
                                    for rc, share in scenario.failures.items()})
    carriers = _spread(rng, count, _as_percent(scenario.carriers))
    order = rng.sample(range(count), count)
    odd = allot(count, {"never": scenario.never, "late": scenario.late,
                        "out_of_order": scenario.out_of_order})
    never = set(order[:odd["never"]])
    late = set(order[odd["never"]:odd["never"] + odd["late"]])
    disagree = set(order[odd["never"] + odd["late"]:][:odd["out_of_order"]])
    # A message with a second final is kept to one segment: its reports stay one each.
    sent = [i for i in range(count) if i not in never and i not in disagree]
    long = set(rng.sample(sent, min(len(sent), allot(count, {"p": scenario.parts})["p"])))
    commonest = max(scenario.failures, key=lambda rc: scenario.failures[rc], default=None)
    messages = []
    for i in range(count):
        carrier = carriers[i] or "china_mobile"
        wanted = ReasonClass(outcomes[i]) if outcomes[i] else None
        messages.append(_message(
            rng, provider, index=i, prefix=prefix, carrier=carrier, wanted=wanted,
            template=templates[i % len(templates)] if templates else None,
            segments=rng.choice((2, 3)) if i in long else 1,
            reported_at=now + timedelta(seconds=hold_late) if i in late else now,
            lag=_lognormal(rng, LAG_MEDIAN, LAG_SIGMA, LAG_MAX),
            within=None if i in late else on_time_within,
            late=i in late, never=i in never,
            disagree=(commonest or DISAGREEING) if i in disagree else None))
    return Plan(provider, scenario, tuple(messages))


def summarize(p: Plan) -> Summary:
    """Count what the plan's posted receipts will say, per class and per oddity."""
    out = Summary(messages=len(p.messages))
    for m in p.messages:
        out.carriers[m.carrier] += 1
        if m.never:
            out.never += 1
            continue
        if m.reason_class is None:
            out.delivered += 1
        else:
            out.classes[m.reason_class.value] += 1
        if m.wanted is not None and m.wanted != m.reason_class:
            out.inexpressible[(m.wanted.value, str(m.reason_class))] += 1
        out.multipart += m.segments > 1
        out.part_reports += len(m.reports) if len(m.reports) > 1 else 0
        out.late += m.late
        if m.after is not None:
            out.out_of_order += 1
            out.second_finals[m.second_class or DELIVERED] += 1
        out.reports += len(m.reports) + (m.after is not None)
    return out


def _as_percent(weights: Mapping[str, float]) -> dict[str, float]:
    total = sum(weights.values())
    return {name: 100 * weight / total for name, weight in weights.items()}


def _spread(rng: random.Random, count: int, shares: Mapping[str, float]) -> list[str]:
    """Return ``count`` names (or "") in proportion to ``shares``, shuffled."""
    counts = allot(count, shares)
    names = [name for name, n in counts.items() for _ in range(n)]
    names += [""] * (count - len(names))
    rng.shuffle(names)
    return names


def _lognormal(rng: random.Random, median: float, sigma: float, most: int) -> int:
    return max(1, min(most, round(rng.lognormvariate(math.log(median), sigma))))


def _failure(rng: random.Random, provider: str, carrier: str,
             wanted: ReasonClass) -> tuple[str, str, ReasonClass | None]:
    """Return (status, code, class dlrhub will give it) of a failure of ``wanted``."""
    found = candidates(provider, carrier, wanted)
    code = rng.choice(found) if found else generic(provider)
    return (PROVIDERS[provider].failure_status(code), code,
            expressed(provider, code, carrier))


def _message(rng: random.Random, provider: str, *, index: int, prefix: str, carrier: str,
             wanted: ReasonClass | None, template: str | None, segments: int,
             reported_at: datetime, lag: int, within: int | None, late: bool,
             never: bool, disagree: ReasonClass | None) -> Message:
    phone = draw_phone(rng, carrier)
    latency = (rng.randint(LATE_MIN, LATE_MAX) if late
               else _lognormal(rng, LATENCY_MEDIAN, LATENCY_SIGMA, LATENCY_MAX))
    if within is not None:
        lag = max(1, min(lag, within // 2))
        latency = max(1, min(latency, within - lag))
    reported_at -= timedelta(seconds=lag)
    submitted_at = reported_at - timedelta(seconds=latency)
    status, code, reason = DELIVERED, None, None
    if wanted is not None:
        status, code, reason = _failure(rng, provider, carrier, wanted)
    message_id, reference = f"{prefix}{index:06d}", f"ref-{index:06d}"

    def report(status: str, code: str | None, at: datetime, part: int | None = None
               ) -> PlannedReport:
        return PlannedReport(message_id=message_id, phone=phone, status=status, code=code,
                             submitted_at=submitted_at, reported_at=at, segments=segments,
                             part=part, reference=reference)

    reports: tuple[PlannedReport, ...] = (report(status, code, reported_at),)
    if segments > 1 and PROVIDERS[provider].reports_parts:
        # Every part is reported; a failed message fails on one part, the others
        # delivered, so that the message takes its worst part's status.
        failing = rng.randint(1, segments) if wanted is not None else 0
        reports = tuple(report(status if part == failing else DELIVERED,
                               code if part == failing else None, reported_at, part)
                        for part in range(1, segments + 1))
    after, second_class = None, None
    if disagree is not None:
        # Reported before the final one, posted after it: a second final that disagrees.
        earlier = submitted_at + (reported_at - submitted_at) / 2
        if wanted is None:
            other_status, other_code, second_class = _failure(rng, provider, carrier,
                                                              disagree)
            after = report(other_status, other_code, earlier.replace(microsecond=0))
        else:
            after = report(DELIVERED, None, earlier.replace(microsecond=0))
    return Message(message_id=message_id, phone=phone, carrier=carrier, template=template,
                   reference=reference, wanted=wanted, reason_class=reason, status=status,
                   code=code, segments=segments, submitted_at=submitted_at,
                   reported_at=reported_at, late=late, never=never,
                   reports=() if never else reports, after=None if never else after,
                   second_class=None if never else second_class)
