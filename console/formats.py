"""How values are shown: labels, times in the viewer's zone (UTC on hover), durations."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from markupsafe import Markup, escape

from dlrhub.console import i18n


class Formats:
    """The template helpers of one viewer (language and time zone)."""

    def __init__(self, lang: str, tz: ZoneInfo) -> None:
        self.lang = lang
        self.tz = tz

    def t(self, key: str, **values: object) -> str:
        """Return a catalogue label."""
        return i18n.t(self.lang, key, **values)

    def v(self, word: str | None) -> str:
        """Return a vocabulary value as people read it."""
        return i18n.value(self.lang, word)

    def local(self, moment: datetime | str | None, pattern: str = "%Y-%m-%d %H:%M:%S") -> str:
        """Return a time in the viewer's zone, as text."""
        at = as_utc(moment)
        return "" if at is None else at.astimezone(self.tz).strftime(pattern)

    def when(self, moment: datetime | str | None) -> Markup:
        """Return a ``<time>`` in the viewer's zone whose title is the UTC time."""
        at = as_utc(moment)
        if at is None:
            return escape(i18n.t(self.lang, "none"))
        utc = at.strftime("%Y-%m-%d %H:%M:%S UTC")
        local = at.astimezone(self.tz).strftime("%Y-%m-%d %H:%M:%S")
        return Markup('<time datetime="{}" title="{}">{}</time>').format(
            at.isoformat().replace("+00:00", "Z"), utc, local)

    def ms(self, value: float | None) -> str:
        """Return a duration in milliseconds, in ms below 10 s and in seconds above."""
        if value is None:
            return i18n.t(self.lang, "none")
        if value < 10_000:
            return i18n.t(self.lang, "unit.ms", n=f"{value:,.0f}")
        return i18n.t(self.lang, "unit.s", n=f"{value / 1000:,.1f}")

    def pct(self, share: float | None) -> str:
        """Return a share as a percentage with one decimal."""
        return i18n.t(self.lang, "none") if share is None else f"{share * 100:.1f}%"


def as_utc(moment: datetime | str | None) -> datetime | None:
    """Return an aware UTC datetime of a datetime or an ISO 8601 string."""
    if moment is None or moment == "":
        return None
    at = datetime.fromisoformat(moment) if isinstance(moment, str) else moment
    return at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)
