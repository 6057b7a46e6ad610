"""The delivery aggregate's pure logic: moves between rows, latency buckets, query plans."""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dlrhub.core.vocabulary import ReasonClass, ReceiptStatus
from dlrhub.models.tables import (
    DELIVERY_STATS_ADDED,
    DELIVERY_STATS_KEY,
    HANDSET_COLUMNS,
    LAG_COLUMNS,
    LATENCY_BUCKETS,
)
from dlrhub.services.analytics.buckets import (
    EDGES,
    RATIO,
    bucket_of,
    percentile,
    percentiles,
    rounded_quantiles,
)
from dlrhub.services.analytics.grains import DIMENSION_SETS, DIMENSIONS
from dlrhub.services.analytics.plan import plan, zone_offsets
from dlrhub.services.analytics.record import ExpectationFacts, MessageFacts, stat_rows
from dlrhub.services.errors import InvalidInput

AT = datetime(2024, 1, 1, 10, 30, tzinfo=UTC)
PENDING = MessageFacts("ten_1", "acc_1", "tencent", "CN", "china_mobile", "otp", None,
                       ReceiptStatus.pending, False, AT)
FAILED = PENDING._replace(status=ReceiptStatus.failed, final=True,
                 reason_class=ReasonClass.invalid_number, handset_latency_s=3.0,
                 receipt_lag_s=1.0)
GRAINS = 2 * len(DIMENSION_SETS)

Table = dict[tuple[Any, ...], Counter[str]]


def apply(table: Table, rows: list[dict[str, Any]]) -> Table:
    """Add rows to an in-memory aggregate, as the upsert does."""
    for row in rows:
        key = tuple(row[k] for k in DELIVERY_STATS_KEY)
        table.setdefault(key, Counter()).update({c: row[c] for c in DELIVERY_STATS_ADDED})
    return table


def nonzero(table: Table) -> dict[tuple[Any, ...], dict[str, int]]:
    return {k: {c: n for c, n in v.items() if n} for k, v in table.items()
            if any(v.values())}


def test_the_key_lists_the_dimensions_in_order() -> None:
    assert DELIVERY_STATS_KEY[3:] == DIMENSIONS


def test_a_new_message_counts_once_in_each_grain() -> None:
    rows = stat_rows([(None, PENDING)])
    assert len(rows) == GRAINS
    assert {(r["messages"], r["pending"]) for r in rows} == {(1, 1)}
    hours = {r["bucket"] for r in rows if r["grain"].startswith("hour:")}
    days = {r["bucket"] for r in rows if r["grain"].startswith("day:")}
    assert hours == {datetime(2024, 1, 1, 10, tzinfo=UTC)}
    assert days == {datetime(2024, 1, 1, tzinfo=UTC)}
    total = next(r for r in rows if r["grain"] == "hour:total")
    assert (total["account_id"], total["carrier"], total["reason_class"]) == ("*", "*", "*")
    # Only the grains that group by a reason class keep it (a pending message has none).
    kept = {r["grain"] for r in rows if r["reason_class"] != "*"}
    assert kept == {f"{span}:{grain}" for span in ("hour", "day")
                    for grain in ("reasons", "netreasons", "sendreasons", "all")}


def test_every_row_counts_its_failures_by_reason_class() -> None:
    rows = stat_rows([(None, FAILED)])
    assert {r["reason_invalid_number"] for r in rows} == {1}
    assert {r["reason_class"] for r in rows if r["grain"].endswith(("reasons", ":all"))} == {
        "invalid_number"}
    assert sum(r[c] for r in rows for c in r if c.startswith("reason_") and c != "reason_class"
               ) == GRAINS
    # A message moving from failed to delivered (a correction the rules took) leaves
    # its reason behind everywhere.
    table = apply(apply({}, rows), stat_rows([(FAILED, FAILED._replace(
        status=ReceiptStatus.delivered, reason_class=None))]))
    assert not any(n for counts in table.values() for column, n in counts.items()
                   if column.startswith("reason_"))


def test_a_status_change_moves_the_message_to_its_reason_row() -> None:
    table = apply({}, stat_rows([(None, PENDING)]))
    apply(table, stat_rows([(PENDING, FAILED)]))
    # the same as if it had arrived failed: nothing left in the pending row
    assert nonzero(table) == nonzero(apply({}, stat_rows([(None, FAILED)])))
    full = {k: v for k, v in nonzero(table).items() if k[1] == "hour:all"}
    assert len(full) == 1
    (key, counts), = full.items()
    assert key[-1] == "invalid_number"
    assert counts["messages"] == counts["failed"] == 1
    assert counts[HANDSET_COLUMNS[bucket_of(3.0)]] == counts[LAG_COLUMNS[bucket_of(1.0)]] == 1


def test_latencies_are_added_once_when_the_message_becomes_final() -> None:
    assert stat_rows([(FAILED, FAILED)]) == []  # a final message that changes nothing
    table = apply({}, stat_rows([(None, PENDING)]))
    apply(table, stat_rows([(PENDING, FAILED)]))
    apply(table, stat_rows([(FAILED, FAILED)]))
    handset = sum(v[c] for k, v in table.items() if k[1] == "day:total"
                  for c in HANDSET_COLUMNS)
    assert handset == 1
    # a pending message has latencies counted nowhere, even if it reports them
    early = PENDING._replace(handset_latency_s=2.0, receipt_lag_s=2.0)
    assert all(r[c] == 0 for r in stat_rows([(None, early)])
               for c in HANDSET_COLUMNS + LAG_COLUMNS)


def test_changes_that_cancel_within_a_batch_write_nothing() -> None:
    assert stat_rows([(None, PENDING), (PENDING, FAILED), (FAILED, PENDING),
                      (PENDING, FAILED)]) == stat_rows([(None, FAILED)])
    back = stat_rows([(PENDING, FAILED), (FAILED, PENDING)])
    assert back == []


def test_rows_are_summed_per_key_and_sorted() -> None:
    other = PENDING._replace(carrier="china_telecom")
    rows = stat_rows([(None, PENDING), (None, PENDING), (None, other)])
    keys = [tuple(r[k] for k in DELIVERY_STATS_KEY) for r in rows]
    assert keys == sorted(keys)
    assert len(set(keys)) == len(keys)
    total = [r for r in rows if r["grain"] == "hour:total"]
    assert [r["messages"] for r in total] == [3]
    assert sorted(r["messages"] for r in rows if r["grain"] == "hour:all") == [1, 2]


def test_expectations_count_expected_and_missing_until_met() -> None:
    sent = ExpectationFacts("ten_1", "acc_1", "tencent", None, None, "otp", AT)
    gone = replace(sent, missing=True)
    table = apply({}, stat_rows([(None, sent)]))
    apply(table, stat_rows([(sent, gone)]))
    row = table[next(k for k in table if k[1] == "hour:all")]
    assert (row["expected"], row["missing"], row["messages"]) == (1, 1, 0)
    apply(table, stat_rows([(gone, sent)]))  # a late receipt met it
    assert (row["expected"], row["missing"]) == (1, 0)
    key = next(k for k in table if k[1] == "hour:all")
    assert key[DELIVERY_STATS_KEY.index("country")] == ""  # unknown, not NULL


def test_a_message_needs_a_message_status_and_a_zoned_time() -> None:
    with pytest.raises(ValueError, match="status"):
        stat_rows([(None, PENDING._replace(status=ReceiptStatus.received))])
    with pytest.raises(ValueError, match="zone"):
        stat_rows([(None, PENDING._replace(anchor_at=AT.replace(tzinfo=None)))])


# --- latency buckets ------------------------------------------------------------------


def test_buckets_are_log_spaced_from_half_a_second() -> None:
    assert len(EDGES) == LATENCY_BUCKETS - 1
    assert EDGES[0] == 0.5
    assert all(math.isclose(b / a, RATIO) for a, b in pairwise(EDGES))
    assert EDGES[-1] > 48 * 3600  # beyond the two days providers keep trying
    assert (bucket_of(-1.0), bucket_of(0.0), bucket_of(0.49), bucket_of(0.5)) == (0, 0, 0, 1)
    assert bucket_of(10 ** 9) == LATENCY_BUCKETS - 1


def test_a_percentile_interpolates_inside_its_bucket() -> None:
    counts = [0] * LATENCY_BUCKETS
    assert percentile(counts, 0.5) is None
    counts[5] = 100  # [EDGES[4], EDGES[5])
    assert percentile(counts, 0.5) == pytest.approx(math.sqrt(EDGES[4] * EDGES[5]))
    assert percentile(counts, 1.0) == pytest.approx(EDGES[5])
    counts[0] = 100
    assert percentile(counts, 0.25) == pytest.approx(0.25)  # linear below 0.5 s
    counts[-1] = 800
    assert percentile(counts, 0.99) == EDGES[-1]  # the last bucket: its start


@given(st.lists(st.floats(min_value=0.5, max_value=EDGES[-1] * 0.999), min_size=1,
                max_size=300),
       st.sampled_from([0.5, 0.9, 0.99]))
def test_a_percentile_is_within_one_bucket_ratio_of_the_exact_one(
        latencies: list[float], q: float) -> None:
    counts = [0] * LATENCY_BUCKETS
    for value in latencies:
        counts[bucket_of(value)] += 1
    ordered = sorted(latencies)
    exact = ordered[max(math.ceil(q * len(ordered)) - 1, 0)]  # nearest rank
    estimate = percentile(counts, q)
    assert estimate is not None
    assert exact / RATIO <= estimate <= exact * RATIO


_HISTOGRAM = st.lists(st.one_of(st.just(0), st.integers(-3, 5), st.integers(0, 10 ** 9)),
                      min_size=LATENCY_BUCKETS, max_size=LATENCY_BUCKETS)


@given(st.lists(_HISTOGRAM, max_size=20), st.sampled_from([(0.5, 0.9, 0.99), (0.5, 0.99)]))
def test_every_group_s_percentiles_at_once_are_each_one_s(
        histograms: list[list[int]], qs: tuple[float, ...]) -> None:
    """The answer reads all its groups' histograms as one array: each row's figures are
    what that histogram gives alone, to the millisecond, None where it is empty (or has
    nothing but the negative counts a sum of changes could leave)."""
    table = rounded_quantiles(histograms, qs)
    assert len(table) == len(histograms)
    for counts, row in zip(histograms, table, strict=True):
        alone = percentiles(counts, qs)
        assert len(row) == len(qs)
        for got, want in zip(row, alone, strict=True):
            if want is None:
                assert got is None
            else:
                assert got == pytest.approx(round(want, 3), abs=1.001e-3)


def test_the_percentiles_of_histograms_at_once_include_the_edge_cases() -> None:
    last = [0] * LATENCY_BUCKETS
    last[-1] = 5
    low = [0] * LATENCY_BUCKETS
    low[0] = 4
    assert rounded_quantiles([[0] * LATENCY_BUCKETS, last, low, [-1] * LATENCY_BUCKETS],
                             (0.5, 1.0)) == [
        [None, None], [round(EDGES[-1], 3)] * 2, [0.25, 0.5], [None, None]]
    assert rounded_quantiles([], (0.5,)) == []


# --- query plans ----------------------------------------------------------------------

NOW = datetime(2024, 3, 10, 12, 20, tzinfo=UTC)


def plan_of(**kwargs: Any) -> Any:
    args: dict[str, Any] = {"since": None, "until": None, "group_by": None, "tz": None,
                            "filters": {}, "now": NOW}
    return plan(**(args | kwargs))


def test_a_range_widens_to_whole_hours_and_defaults_to_a_day() -> None:
    p = plan_of()
    assert (p.since, p.until) == (datetime(2024, 3, 9, 13, tzinfo=UTC),
                                  datetime(2024, 3, 10, 13, tzinfo=UTC))
    p = plan_of(since=datetime(2024, 3, 1, 0, 59, tzinfo=UTC),
                until=datetime(2024, 3, 2, 5, 0, tzinfo=UTC))
    assert (p.since, p.until) == (datetime(2024, 3, 1, 0, tzinfo=UTC),
                                  datetime(2024, 3, 2, 5, tzinfo=UTC))


def test_whole_utc_days_read_day_rows_and_the_ends_hour_rows() -> None:
    p = plan_of(since=datetime(2024, 3, 1, 5, tzinfo=UTC),
                until=datetime(2024, 3, 4, 7, tzinfo=UTC), group_by="provider,day")
    def at(day: int, hour: int = 0) -> datetime:
        return datetime(2024, 3, day, hour, tzinfo=UTC)

    assert p.day_ranges == ((at(2), at(4)),)
    assert p.hour_ranges == ((at(1, 5), at(2)), (at(4), at(4, 7)))
    assert p.dimensions.name == "network"


def test_hours_and_days_in_a_shifted_zone_read_hour_rows() -> None:
    month = {"since": datetime(2024, 2, 1, tzinfo=UTC), "until": datetime(2024, 3, 1, tzinfo=UTC)}
    for group_by, tz in (("hour", None), ("day", "Asia/Shanghai")):
        p = plan_of(group_by=group_by, tz=tz, **month)
        assert (p.day_ranges, p.hour_ranges) == ((), ((month["since"], month["until"]),))
    assert plan_of(group_by="day", tz="Etc/UTC", **month).day_ranges != ()


def test_the_coarsest_grain_that_keeps_the_query_is_read() -> None:
    assert plan_of().dimensions.name == "total"
    assert plan_of(group_by="hour,reason_class").dimensions.name == "reasons"
    assert plan_of(group_by="carrier").dimensions.name == "carriers"
    assert plan_of(group_by="country,carrier,hour").dimensions.name == "carriers"
    assert plan_of(group_by="provider,carrier").dimensions.name == "network"
    assert plan_of(filters={"template": "otp"}).dimensions.name == "sending"
    assert plan_of(group_by="template,reason_class").dimensions.name == "sendreasons"
    assert plan_of(group_by="carrier,reason_class").dimensions.name == "netreasons"
    assert plan_of(group_by="day", filters={"provider": "x", "reason_class": "expired"}
                   ).dimensions.name == "netreasons"
    assert plan_of(group_by="template", filters={"carrier": "x"}).dimensions.name == "all"


def test_a_zone_s_offsets_change_where_its_clocks_do() -> None:
    since = datetime(2024, 3, 9, tzinfo=UTC)
    changes = zone_offsets(ZoneInfo("America/New_York"), since, since + timedelta(days=3))
    assert changes == ((since, -5 * 3600), (datetime(2024, 3, 10, 7, tzinfo=UTC), -4 * 3600))


@pytest.mark.parametrize(("kwargs", "field"), [
    ({"group_by": "provider,colour"}, "group_by"),
    ({"tz": "Mars/Olympus"}, "tz"),
    ({"tz": "../../etc/passwd"}, "tz"),
    ({"since": datetime(2024, 1, 1, tzinfo=UTC), "until": datetime(2024, 4, 3, 1, tzinfo=UTC)},
     "since"),
    ({"since": datetime(2024, 1, 2, tzinfo=UTC), "until": datetime(2024, 1, 2, tzinfo=UTC)},
     "until"),
    ({"since": datetime(2024, 1, 2, tzinfo=UTC).replace(tzinfo=None)}, "since"),
])
def test_bad_queries_name_their_field(kwargs: dict[str, Any], field: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        plan_of(**kwargs)
    assert caught.value.field == field


def test_group_keys_are_kept_in_order_once() -> None:
    assert plan_of(group_by=" carrier, provider,carrier,,day").group_by == (
        "carrier", "provider", "day")
