"""The simulator's scenarios: seeded, in the mix's proportions, with real codes."""

from __future__ import annotations

import re
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest

from dlrhub.models import ReasonClass
from dlrhub.providers.registry import PROVIDERS
from dlrhub.services.insight.numbers import locate
from dlrhub.services.insight.reasons import classify
from dlrhub.services.simulation import mix
from dlrhub.services.simulation.codes import candidates
from dlrhub.services.simulation.plan import Plan, allot, plan, summarize

NOW = datetime(2026, 3, 4, 5, 6, 7, tzinfo=UTC)
MIX = {ReasonClass.invalid_number: 5, ReasonClass.blacklisted: 2,
       ReasonClass.rate_limited: 3, ReasonClass.expired: 1}


def scenario(*, parts: float = 0, late: float = 0, out_of_order: float = 0,
             never: float = 0) -> mix.Scenario:
    return mix.build("clean", failures=MIX, parts=parts, late=late,
                     out_of_order=out_of_order, never=never)


def test_the_same_seed_gives_the_same_plan_and_another_seed_another() -> None:
    first = plan("tencent", mix.PRESETS["demo"], count=300, seed=11, now=NOW)

    assert plan("tencent", mix.PRESETS["demo"], count=300, seed=11, now=NOW) == first
    other = plan("tencent", mix.PRESETS["demo"], count=300, seed=12, now=NOW)
    assert [m.phone for m in other.messages] != [m.phone for m in first.messages]


def test_the_mix_is_exact_in_percent_of_messages() -> None:
    p = plan("tencent", scenario(), count=1000, seed=1, now=NOW)

    wanted = Counter(m.wanted for m in p.messages)
    assert wanted == {ReasonClass.invalid_number: 50, ReasonClass.blacklisted: 20,
                      ReasonClass.rate_limited: 30, ReasonClass.expired: 10, None: 890}
    assert Counter(m.carrier for m in p.messages) == {"china_mobile": 500,
                                                      "china_unicom": 300,
                                                      "china_telecom": 200}


def test_shares_that_do_not_divide_evenly_still_add_up() -> None:
    counts = allot(7, {"a": 33.4, "b": 33.3, "c": 33.3})

    assert sum(counts.values()) == 7
    assert sorted(counts.values()) == [2, 2, 3]


@pytest.mark.parametrize("provider", ["tencent", "aliyun", "ucloud", "netease", "cloopen"])
def test_a_failure_carries_a_code_of_its_class_on_its_carrier(provider: str) -> None:
    p = plan(provider, mix.build("clean", failures=dict.fromkeys(ReasonClass, 8)),
             count=600, seed=5, now=NOW)

    failures = [m for m in p.messages if m.wanted is not None]
    assert len(failures) == 576
    for m in failures:
        # The class ingest will give the report is the class the mix asked for ...
        verdict = classify(provider, m.status, m.code, carrier=m.carrier, country="CN")
        assert verdict.reason_class == m.wanted == m.reason_class, m
        # ... and the code is one the dictionary lists for that carrier, or for all.
        assert m.code in candidates(provider, m.carrier, m.wanted)


def test_carrier_scoped_codes_follow_the_carrier() -> None:
    # MK:0005 is invalid_number on China Mobile, a powered-off handset on China Telecom.
    assert "MK:0005" in candidates("tencent", "china_mobile", ReasonClass.invalid_number)
    assert "MK:0005" not in candidates("tencent", "china_telecom",
                                       ReasonClass.invalid_number)
    assert "MK:0005" in candidates("tencent", "china_telecom",
                                   ReasonClass.unreachable_powered_off)


def test_a_provider_that_cannot_say_why_sends_its_generic_failure() -> None:
    p = plan("nxcloud", scenario(), count=200, seed=3, now=NOW)

    failures = [m for m in p.messages if m.wanted is not None]
    assert {(m.status, m.code, m.reason_class) for m in failures} == {
        ("failed", "UNDELIVR", ReasonClass.other_unknown)}
    assert summarize(p).inexpressible[("blacklisted", "other_unknown")] == 4


def test_huawei_rate_limits_and_expiries_use_its_own_codes() -> None:
    p = plan("huawei", scenario(), count=400, seed=3, now=NOW)

    codes: dict[ReasonClass | None, set[tuple[str, str | None]]] = {
        m.wanted: set() for m in p.messages}
    for m in p.messages:
        codes[m.wanted].add((m.status, m.code))
    assert codes[ReasonClass.rate_limited] <= {("failed", "MILIMIT"), ("failed", "LIMIT")}
    assert codes[ReasonClass.expired] == {("expired", "EXPIRED")}


def test_every_phone_is_of_its_carrier() -> None:
    p = plan("tencent", mix.PRESETS["demo"], count=500, seed=9, now=NOW)

    assert all(locate(m.phone) == ("CN", m.carrier) for m in p.messages)
    assert len({m.phone for m in p.messages}) == 500


def _oddities(p: Plan) -> tuple[int, int, int]:
    return (sum(m.never for m in p.messages), sum(m.late for m in p.messages),
            sum(m.after is not None for m in p.messages))


def test_never_sent_late_and_out_of_order_are_exact_and_apart() -> None:
    p = plan("aliyun", scenario(never=3, late=2, out_of_order=5), count=200, seed=4, now=NOW)

    assert _oddities(p) == (6, 4, 10)
    for m in p.messages:
        assert m.never + m.late + (m.after is not None) <= 1
        assert (m.reports == ()) == m.never
    posted = {r.message_id for name in ("first", "after", "late") for r in p.phase(name)}
    assert len(posted) == 194


def test_times_are_whole_seconds_before_now_and_late_ones_long_after_the_send() -> None:
    p = plan("aliyun", scenario(late=10), count=300, seed=2, now=NOW + timedelta(
        microseconds=5))

    for m in p.messages:
        handset = (m.reported_at - m.submitted_at).total_seconds()
        assert m.reported_at < NOW
        assert m.reported_at.microsecond == 0
        assert 20 * 60 <= handset <= 6 * 3600 if m.late else 1 <= handset <= 600
    latencies = sorted((m.reported_at - m.submitted_at).total_seconds()
                       for m in p.messages if not m.late)
    assert 2 <= latencies[len(latencies) // 2] <= 10  # a median of a few seconds


def test_receipts_on_time_are_sent_within_the_time_asked() -> None:
    p = plan("aliyun", scenario(late=10), count=500, seed=2, now=NOW, on_time_within=30)

    for m in p.messages:
        since_send = (NOW - m.submitted_at).total_seconds()
        assert since_send > 20 * 60 if m.late else 2 <= since_send <= 30


def test_held_late_receipts_are_reported_when_they_are_posted() -> None:
    p = plan("aliyun", scenario(late=10), count=100, seed=2, now=NOW, hold_late=60)

    late = p.phase("late")
    assert late
    assert all(NOW < r.reported_at <= NOW + timedelta(seconds=60) for r in late)


def test_the_disagreeing_final_is_posted_after_but_reported_before_the_first() -> None:
    p = plan("cloopen", scenario(out_of_order=10), count=100, seed=8, now=NOW)

    for m in p.messages:
        if m.after is None:
            continue
        (first,) = m.reports
        assert m.after.reported_at < first.reported_at
        assert (first.status == "delivered") != (m.after.status == "delivered")
    summary = summarize(p)
    assert summary.out_of_order == 10
    assert sum(summary.second_finals.values()) == 10


def test_huawei_reports_every_part_and_a_failure_on_one_of_them() -> None:
    p = plan("huawei", scenario(parts=50), count=200, seed=6, now=NOW)

    long = [m for m in p.messages if m.segments > 1]
    assert len(long) == 100
    for m in long:
        assert [r.part for r in m.reports] == list(range(1, m.segments + 1))
        statuses = Counter(r.status for r in m.reports)
        if m.wanted is None:
            assert statuses == {"delivered": m.segments}
        else:
            assert statuses["delivered"] == m.segments - 1
    assert summarize(p).part_reports == sum(m.segments for m in long)


def test_other_providers_report_a_long_message_once_with_its_segments() -> None:
    p = plan("netease", scenario(parts=50), count=100, seed=6, now=NOW)

    long = [m for m in p.messages if m.segments > 1]
    assert long
    assert all(len(m.reports) == 1 and m.reports[0].part is None for m in long)
    assert not PROVIDERS["netease"].reports_parts


def test_templates_are_spread_over_the_messages() -> None:
    p = plan("tencent", scenario(), count=10, seed=1, now=NOW, templates=["otp", "promo"])

    assert Counter(m.template for m in p.messages) == {"otp": 5, "promo": 5}


@pytest.mark.parametrize(("text", "error"), [
    ("invalid_number=5,bogus=2", "'bogus' is not a reason class (one of invalid_number"),
    ("invalid_number", "write reason class=percent"),
    ("invalid_number=five", "'five' is not a number"),
    ("invalid_number=60,expired=50", "add up to 110 %, more than 100 %"),
    ("expired=-1", "a percentage is from 0 to 100"),
    ("expired=1,expired=2", "'expired' is given twice"),
])
def test_a_bad_mix_says_what_is_wrong(text: str, error: str) -> None:
    with pytest.raises(ValueError, match=re.escape(error)):
        mix.parse_mix(text)


def test_a_mix_is_read_into_classes() -> None:
    assert mix.parse_mix(" invalid_number=5, rate_limited=2.5 ") == {
        ReasonClass.invalid_number: 5.0, ReasonClass.rate_limited: 2.5}
    with pytest.raises(ValueError, match="at least one carrier"):
        mix.parse_carriers("china_mobile=0")
    with pytest.raises(ValueError, match="add up to more than 100 %"):
        mix.build("demo", late=50, never=60)
