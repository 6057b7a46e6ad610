"""What a delivery query asks, checked, and which aggregate rows answer it (pure logic).

The aggregate is kept by the UTC hour and the UTC day, so a range is widened to whole
hours, and a query reads day rows for the whole UTC days of its range and hour rows for
the hours at either end, unless it groups by hour, or by day in a zone whose days do not
start at UTC midnight: then it reads hour rows only. A day in a zone is the hours that
start in it: exact for zones whose offset is a whole number of hours, and for the others
(India's +05:30) an hour is counted in the day its start falls in.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dlrhub.services.analytics.grains import DIMENSIONS, DimensionSet, dimensions_for
from dlrhub.services.errors import InvalidInput
from dlrhub.services.receipts import to_utc

TIME_KEYS = ("hour", "day")
GROUP_KEYS = DIMENSIONS + TIME_KEYS
HOUR = timedelta(hours=1)
DAY = timedelta(days=1)
DEFAULT_RANGE = timedelta(hours=24)
MAX_RANGE = timedelta(days=93)


@dataclass(frozen=True)
class Plan:
    """A checked query: its range, groups, filters, zone, and the rows that answer it."""

    since: datetime
    until: datetime
    group_by: tuple[str, ...]
    filters: dict[str, str]
    tz: str
    dimensions: DimensionSet
    # [start, end) ranges of hour rows and of day rows to read.
    hour_ranges: tuple[tuple[datetime, datetime], ...]
    day_ranges: tuple[tuple[datetime, datetime], ...]
    # The zone's UTC offset by range: (from, seconds), the first from ``since``.
    offsets: tuple[tuple[datetime, int], ...]


def parse_group_by(value: str | None) -> tuple[str, ...]:
    """Return the group keys of ``provider,carrier`` in order, each once; raise if unknown."""
    keys: list[str] = []
    for part in (value or "").split(","):
        key = part.strip()
        if not key:
            continue
        if key not in GROUP_KEYS:
            raise InvalidInput("group_by", f"unknown key {key!r}: use any of "
                                           f"{', '.join(GROUP_KEYS)}, comma-separated")
        if key not in keys:
            keys.append(key)
    return tuple(keys)


def parse_zone(name: str | None) -> ZoneInfo:
    """Return the IANA zone ``name`` (UTC if not given), or raise naming ``tz``."""
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError) as ex:
        raise InvalidInput("tz", f"{name!r} is not an IANA time zone (e.g. Asia/Shanghai)") from ex


def floor_hour(moment: datetime) -> datetime:
    """Return the start of ``moment``'s UTC hour."""
    return moment.replace(minute=0, second=0, microsecond=0)


def ceil_hour(moment: datetime) -> datetime:
    """Return the first UTC hour start at or after ``moment``."""
    start = floor_hour(moment)
    return start if start == moment else start + HOUR


def time_range(since: datetime | None, until: datetime | None,
               now: datetime) -> tuple[datetime, datetime]:
    """Return the range in whole UTC hours: ``since`` down, ``until`` (default now) up."""
    try:
        end = ceil_hour(to_utc("until", until) if until is not None else now)
        start = floor_hour(to_utc("since", since)) if since is not None else end - DEFAULT_RANGE
    except OverflowError as ex:  # 9999-12-31T23:30Z has no next hour
        raise InvalidInput("until" if until is not None else "since", "is out of range") from ex
    if end <= start:
        raise InvalidInput("until", "must be after since")
    if end - start > MAX_RANGE:
        raise InvalidInput("since", f"the range may span at most {MAX_RANGE.days} days")
    return start, end


def zone_offsets(zone: ZoneInfo, since: datetime,
                 until: datetime) -> tuple[tuple[datetime, int], ...]:
    """Return the zone's UTC offset in seconds at each hour of the range, as changes."""
    changes: list[tuple[datetime, int]] = []
    hour = since
    while hour < until:
        offset = zone.utcoffset(hour.astimezone(zone))
        seconds = int(offset.total_seconds()) if offset is not None else 0
        if not changes or changes[-1][1] != seconds:
            changes.append((hour, seconds))
        hour += HOUR
    return tuple(changes)


def plan(*, since: datetime | None, until: datetime | None, group_by: str | None,
         tz: str | None, filters: dict[str, str | None], now: datetime) -> Plan:
    """Check a delivery query and decide which aggregate rows answer it."""
    keys = parse_group_by(group_by)
    zone = parse_zone(tz)
    start, end = time_range(since, until, now)
    given = {k: v for k, v in filters.items() if v is not None}
    unknown = set(given) - set(DIMENSIONS)
    if unknown:
        raise ValueError(f"no dimension {sorted(unknown)}")
    offsets = zone_offsets(zone, start, end)
    needed = {k for k in keys if k in DIMENSIONS} | set(given)
    hourly = "hour" in keys or ("day" in keys and any(s for _, s in offsets))
    first_day = start.replace(hour=0) + (DAY if start.hour else timedelta(0))
    last_day = end.replace(hour=0)
    if hourly or first_day >= last_day:
        hours: tuple[tuple[datetime, datetime], ...] = ((start, end),)
        days: tuple[tuple[datetime, datetime], ...] = ()
    else:
        hours = tuple(r for r in ((start, first_day), (last_day, end)) if r[0] < r[1])
        days = ((first_day, last_day),)
    return Plan(since=start, until=end, group_by=keys, filters=given, tz=zone.key,
                dimensions=dimensions_for(needed), hour_ranges=hours, day_ranges=days,
                offsets=offsets)
