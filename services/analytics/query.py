"""``GET /v1/analytics/delivery``: one grouped query over the aggregate, then the figures.

The database sums the counters and the latency buckets of the rows the plan names,
grouped as asked (one statement, an index range per grain, never the receipts); Python
turns each group's sums into rates, and every group's histograms into percentiles at
once (``buckets.rounded_quantiles``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import ColumnElement, CursorResult, and_, case, func, literal, or_, select
from sqlmodel import Session

from dlrhub.core.collector import collector_paused
from dlrhub.core.times import iso_z
from dlrhub.core.vocabulary import ReasonClass
from dlrhub.models import DELIVERY_STATS_TABLE, dialect, utcnow
from dlrhub.models.tables import (
    DELIVERY_STATS_COUNTERS,
    HANDSET_COLUMNS,
    LAG_COLUMNS,
    REASON_COLUMNS,
)
from dlrhub.services.analytics.buckets import rounded_quantiles
from dlrhub.services.analytics.grains import DIMENSIONS, grain_name
from dlrhub.services.analytics.plan import Plan, plan
from dlrhub.services.errors import InvalidInput

STATS = DELIVERY_STATS_TABLE
# An answer larger than this is refused: narrow the range or the grouping.
MAX_GROUPS = 10_000
_N = len(DELIVERY_STATS_COUNTERS)
_B = len(HANDSET_COLUMNS)
_REASONS = [r.value for r in ReasonClass]


@dataclass(frozen=True)
class DeliveryReport:
    """The figures of each group, and the query they answer."""

    since: datetime
    until: datetime
    tz: str
    group_by: list[str]
    data: list[dict[str, Any]]

    def document(self) -> dict[str, Any]:
        """Return the answer as JSON-ready values, as the API's DeliveryReport shows it.

        Written out rather than through the schema: validating 10,000 groups of nested
        models took longer than the query (tests/functional/test_analytics_api.py holds
        the two equal).
        """
        return {"since": _z(self.since), "until": _z(self.until), "tz": self.tz,
                "group_by": self.group_by, "data": self.data}


def delivery(session: Session, *, tenant_id: str, since: datetime | None = None,
             until: datetime | None = None, group_by: str | None = None,
             tz: str | None = None, filters: dict[str, str | None] | None = None,
             now: datetime | None = None) -> DeliveryReport:
    """Return a tenant's delivery figures over a range, grouped by ``group_by``.

    ``filters`` maps dimensions (DIMENSIONS) to the one value each must have. Ranges
    widen to whole UTC hours (the answer says which range it covers); the default is
    the 24 hours up to now.
    """
    p = plan(since=since, until=until, group_by=group_by, tz=tz, filters=filters or {},
             now=now or utcnow())
    groups, columns = _group_columns(session, p)
    by_reason = "reason_class" not in p.group_by
    sums = [func.sum(STATS.c[c]).label(c)
            for c in (*DELIVERY_STATS_COUNTERS, *HANDSET_COLUMNS, *LAG_COLUMNS,
                      *(REASON_COLUMNS if by_reason else ()))]
    # Rows a message moved out of stay, at zero: a group of nothing but those is left out.
    anything = or_(func.sum(STATS.c.messages) != 0, func.sum(STATS.c.expected) != 0)
    # Not ORDER BY: PostgreSQL sorted the 7,200 wide rows of a month by carrier and hour
    # in 16 ms of the query's 122, Python sorts their keys in a few.
    query = (select(*columns, *sums).where(STATS.c.tenant_id == tenant_id, _rows(p))
             .group_by(*groups).having(anything).limit(MAX_GROUPS + 1))
    for dimension, value in p.filters.items():
        query = query.where(STATS.c[dimension] == value)
    # A month grouped by hour and a dimension sums about 100,000 rows into 7,000 groups.
    dialect.sort_in_memory(session, 64)
    with collector_paused():
        return _report(p, session.connection().execute(query), by_reason)


def _report(p: Plan, result: CursorResult[Any], by_reason: bool) -> DeliveryReport:
    """Read the grouped sums of ``result`` and return each group's figures."""
    # The driver's own tuples: SQLAlchemy's rows and result processing took a fifth of
    # a 7,200-group answer. Group keys are text (the hour bucket a datetime, or ISO text
    # on SQLite: ``_hour_z`` reads either), the sums integers.
    rows = list(result.cursor.fetchall()) if result.cursor else []
    result.close()
    if len(rows) > MAX_GROUPS:
        raise InvalidInput("group_by", f"more than {MAX_GROUPS} groups: narrow the range, "
                                       "filter, or group by fewer keys")
    keys = len(p.group_by)
    # By the group keys, in code-point order (no key is NULL: "" is an unknown value).
    rows.sort(key=lambda row: row[:keys])
    at = keys + _N
    handset = rounded_quantiles([row[at:at + _B] for row in rows], _HANDSET_QS)
    lag = rounded_quantiles([row[at + _B:at + 2 * _B] for row in rows], _LAG_QS)
    return DeliveryReport(p.since, p.until, p.tz, list(p.group_by),
                          [_figures(p, row, by_reason, h, g)
                           for row, h, g in zip(rows, handset, lag, strict=True)])


def _rows(p: Plan) -> ColumnElement[bool]:
    """Return the WHERE of the plan's grains and bucket ranges."""
    spans = []
    for span, ranges in (("hour", p.hour_ranges), ("day", p.day_ranges)):
        if ranges:
            spans.append(and_(STATS.c.grain == grain_name(span, p.dimensions),
                              or_(*(and_(STATS.c.bucket >= a, STATS.c.bucket < b)
                                    for a, b in ranges))))
    return or_(*spans)


def _group_columns(session: Session,
                   p: Plan) -> tuple[list[ColumnElement[Any]], list[ColumnElement[Any]]]:
    """Return the GROUP BY expressions and the labelled columns selecting them."""
    groups: list[ColumnElement[Any]] = []
    for key in p.group_by:
        if key == "hour":
            groups.append(STATS.c.bucket)
        elif key == "day":
            groups.append(dialect.local_day(session, STATS.c.bucket, _offset(p)))
        else:
            groups.append(STATS.c[key])
    return groups, [g.label(k) for g, k in zip(groups, p.group_by, strict=True)]


def _offset(p: Plan) -> ColumnElement[Any]:
    """Return the SQL of the zone's offset, in seconds, at each row's bucket."""
    if len(p.offsets) == 1:
        return literal(p.offsets[0][1])
    *changes, (_, last) = p.offsets
    whens = [(STATS.c.bucket < nxt[0], seconds)
             for (_, seconds), nxt in zip(changes, p.offsets[1:], strict=True)]
    return case(*whens, else_=last)


def _figures(p: Plan, row: tuple[Any, ...], by_reason: bool, handset: list[float | None],
             lag: list[float | None]) -> dict[str, Any]:
    """Return one group's keys and figures from its summed row (in SELECT order) and the
    percentiles of its two histograms.

    Runs once per group, and an answer may have 10,000 (a month by carrier and hour has
    7,200): plain loops over the tuple.
    """
    doc: dict[str, Any] = {}
    for i, key in enumerate(p.group_by):
        value = row[i]
        if key == "hour":
            doc[key] = _hour_z(value)
        elif key in DIMENSIONS:
            doc[key] = value or None  # "" is an unknown value
        else:
            doc[key] = value
    at = len(p.group_by)
    # Sums over the rows of a group (which has rows) of columns that are never NULL.
    doc.update(zip(DELIVERY_STATS_COUNTERS, row[at:at + _N], strict=True))
    # The final statuses: every one but pending.
    final = doc["delivered"] + doc["failed"] + doc["expired"] + doc["rejected"] + doc["unknown"]
    doc["final"] = final
    doc["delivery_rate"] = doc["delivered"] / final if final else None
    if by_reason:
        doc["reasons"] = {r: n for r, n in zip(_REASONS, row[at + _N + 2 * _B:], strict=True)
                          if n}
    doc["handset_latency"] = {"p50": handset[0], "p90": handset[1], "p99": handset[2]}
    doc["receipt_lag"] = {"p50": lag[0], "p99": lag[1]}
    return doc


_HANDSET_QS = (0.5, 0.9, 0.99)
_LAG_QS = (0.5, 0.99)


@lru_cache(maxsize=8192)
def _hour_z(value: Any) -> str:
    """Return an hour bucket as text: an answer grouped by hour and a dimension has each
    hour once per value (a month by carrier: 720 hours, 7,200 groups)."""
    return _z(value)


def _z(moment: datetime) -> str:
    return iso_z(_utc(moment))


def _utc(value: Any) -> datetime:
    """Return a bucket as an aware UTC datetime, from either database's answer."""
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    if not isinstance(moment, datetime):
        raise TypeError(f"an hour bucket of type {type(moment).__name__}")
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
