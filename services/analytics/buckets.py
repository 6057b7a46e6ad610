"""The latency histograms' buckets, and percentiles read back from summed buckets.

A message's latency is counted in one of ``LATENCY_BUCKETS`` fixed buckets whose edges
grow by a constant ratio (log-spaced): bucket 0 is [0, 0.5 s), bucket i is
[0.5 s x R^(i-1), 0.5 s x R^i) with R = 2^(2/3) ≈ 1.587, and the last bucket is
everything from about 58 hours on. Summing the buckets of many aggregate rows is exact,
so a percentile over any group is found in the right bucket; inside it the value is
interpolated geometrically. The estimate therefore lies in the same bucket as the true
percentile: at most a factor R (59 %) off in the worst case, and exact when latencies
are spread evenly on a log scale inside the bucket. Below 0.5 s the interpolation is
linear, and a percentile in the last bucket is reported as that bucket's start (a
lower bound).
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Sequence
from functools import cache
from itertools import accumulate
from typing import TYPE_CHECKING, Any

from dlrhub.models.tables import LATENCY_BUCKETS

if TYPE_CHECKING:
    import numpy as np

FIRST_EDGE_S = 0.5
RATIO = 2 ** (2 / 3)
# Where buckets 1 … LATENCY_BUCKETS-1 start (bucket 0 starts at 0).
EDGES: tuple[float, ...] = tuple(FIRST_EDGE_S * RATIO ** i for i in range(LATENCY_BUCKETS - 1))
# The last bucket, open-ended: a quantile in it is reported as its start.
_LAST = LATENCY_BUCKETS - 1


def bucket_of(seconds: float) -> int:
    """Return the bucket a latency of ``seconds`` counts in (a negative one in bucket 0).

    Clock skew between a provider and dlrhub can make a lag slightly negative; it is a
    lag of about nothing, not an error.
    """
    return bisect_right(EDGES, seconds)


def percentiles(counts: Sequence[int], qs: Sequence[float]) -> list[float | None]:
    """Return the quantiles ``qs`` (ascending, each 0 < q <= 1) of a histogram.

    None for each where the histogram is empty. A bucket whose sum came out negative (it
    cannot, but sums of changes are not checked) counts as empty. The bucket of each
    quantile is found by bisecting the running sums (an answer may hold 20,000
    histograms): the first whose running sum reaches the rank, which holds at least one
    count since the rank is above the running sum before it.
    """
    if min(counts, default=0) < 0:
        counts = [n if n > 0 else 0 for n in counts]
    running = list(accumulate(counts))
    total = running[-1] if running else 0
    if total <= 0:
        return [None] * len(qs)
    out: list[float | None] = []
    for q in qs:
        rank = q * total
        i = bisect_left(running, rank)
        if i >= _LAST:
            out.append(EDGES[-1])
            continue
        n = counts[i]
        fraction = (rank - running[i] + n) / n
        # Geometric inside a bucket: its start x RATIO^fraction reaches its end at 1.
        out.append(EDGES[0] * fraction if i == 0 else EDGES[i - 1] * RATIO ** fraction)
    return out


def rounded_quantiles(histograms: Sequence[Sequence[int]], qs: Sequence[float]
                      ) -> list[list[float | None]]:
    """Return ``percentiles(h, qs)`` of each of ``histograms``, rounded to the millisecond.

    The analytics answer reads two histograms per group and may have 10,000 groups: they
    are read as one array, each quantile of every histogram found at once (a month by
    carrier and hour, 14,400 histograms: 80 ms one by one in Python, a few ms so). The
    same arithmetic as ``percentiles`` (tests/unit/services/test_analytics.py holds them
    equal): the running sums, the first bucket whose running sum reaches the rank, the
    geometric (linear in bucket 0) interpolation inside it, the last bucket's start.
    """
    if not histograms:
        return []
    np, edges, starts, ratio = _arrays()
    counts = np.maximum(np.asarray(histograms, dtype=np.int64), 0)
    running = np.cumsum(counts, axis=1)
    total = running[:, -1]
    rows = np.arange(len(counts))
    columns = []
    with np.errstate(divide="ignore", invalid="ignore"):
        for q in qs:
            rank = q * total
            # bisect_left: how many running sums fall short of the rank.
            i = np.minimum((running < rank[:, None]).sum(axis=1), _LAST)
            n = counts[rows, i]
            fraction = (rank - running[rows, i] + n) / n
            value = np.where(i == 0, edges[0] * fraction, starts[i] * ratio ** fraction)
            columns.append(np.round(np.where(i >= _LAST, edges[-1], value), 3))
    table: list[list[float | None]] = np.stack(columns, axis=1).tolist()
    for at in np.flatnonzero(total <= 0).tolist():
        table[at] = [None] * len(qs)
    return table


@cache
def _arrays() -> tuple[Any, np.ndarray, np.ndarray, np.float64]:
    """Return numpy, and as arrays: where bucket i starts for i >= 1 (``EDGES``; bucket
    0's entry of the second unused) and the ratio.

    Imported here, when an answer first needs it: workers and the CLI never do, and
    numpy's import is a tenth of a second and some 15 MB of each process.
    """
    import numpy

    return (numpy, numpy.array(EDGES), numpy.array((0.0, *EDGES)),
            numpy.float64(RATIO))


def percentile(counts: Sequence[int], p: float) -> float | None:
    """Return the ``p`` quantile (0 < p <= 1) of a histogram, or None if it is empty."""
    return percentiles(counts, [p])[0]
