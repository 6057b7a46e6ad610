"""Zone-less provider times, read in the account's zone: the same text, the same answer."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from dlrhub.providers.base import ParseError
from dlrhub.providers.common import ISO_LOCAL, local_time


def test_one_text_in_two_zones_is_two_times_however_often_it_is_read() -> None:
    beijing, london = ZoneInfo("Asia/Shanghai"), ZoneInfo("Europe/London")
    for _ in range(3):
        assert local_time("2026-12-03 19:40:05", ISO_LOCAL, beijing, "t") == datetime(
            2026, 12, 3, 11, 40, 5, tzinfo=UTC)
        assert local_time("2026-12-03 19:40:05", ISO_LOCAL, london, "t") == datetime(
            2026, 12, 3, 19, 40, 5, tzinfo=UTC)


def test_a_bad_time_is_refused_every_time_it_comes() -> None:
    for _ in range(2):
        with pytest.raises(ParseError, match="not a time"):
            local_time("2026-13-03 19:40:05", ISO_LOCAL, ZoneInfo("Asia/Shanghai"), "t")


def test_many_different_times_all_read_right() -> None:
    zone = ZoneInfo("Asia/Shanghai")
    for second in range(10_000):  # more than the memo holds: it is emptied, not wrong
        text = f"2026-12-03 {second // 3600:02d}:{second // 60 % 60:02d}:{second % 60:02d}"
        got = local_time(text, ISO_LOCAL, zone, "t")
        assert got == datetime.fromisoformat(text).replace(tzinfo=zone).astimezone(UTC)
