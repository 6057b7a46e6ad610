"""Times in the viewer's zone with UTC on hover; every value escaped."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from dlrhub.console.formats import Formats


def test_a_time_shows_in_the_viewers_zone_with_utc_in_its_title() -> None:
    shown = Formats("en", ZoneInfo("Asia/Shanghai")).when(datetime(2026, 3, 1, 16, 30,
                                                                   tzinfo=UTC))
    assert str(shown) == ('<time datetime="2026-03-01T16:30:00Z" '
                          'title="2026-03-01 16:30:00 UTC">2026-03-02 00:30:00</time>')
    assert "2026-03-01 16:30:00" in str(Formats("zh", ZoneInfo("UTC")).when(
        "2026-03-01T16:30:00Z"))


def test_no_time_and_durations_read_in_the_viewers_language() -> None:
    zh = Formats("zh", ZoneInfo("UTC"))
    assert str(zh.when(None)) == "—"
    assert zh.ms(1234) == "1,234 毫秒"
    assert Formats("en", ZoneInfo("UTC")).ms(12_500) == "12.5 s"
    assert zh.pct(0.9876) == "98.8%"
