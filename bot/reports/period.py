"""The report's period: parsed from ``--since``/``--until``, held in UTC, shown locally.

Stored times are UTC; people think in the configured time zone. A date given on the
command line means local midnight, and the per-day trend counts local days, so the
period also knows where the zone's UTC offset changes (daylight saving) inside it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from bot.errors import SupportBotError

UNITS = {"h": "hours", "d": "days", "w": "weeks"}
DATE = "a date like 2026-03-01 (optionally with a time, 2026-03-01T09:30)"
EXPECTED = {"--since": f"a duration like 30d, 12h or 2w, or {DATE}", "--until": DATE}
LONGEST = timedelta(days=3661)  # ten years: beyond that the question is not a KPI report


class ReportError(SupportBotError):
    """The report cannot be produced as asked; the message says why, in one line."""


@dataclass(frozen=True)
class Period:
    """``[since, until)`` in UTC; ``as_of`` is when the report looks at open clocks
    (the end of the period, or now if the period reaches into the future)."""

    since: datetime
    until: datetime
    as_of: datetime
    zone: ZoneInfo

    def local(self, moment: datetime) -> datetime:
        return moment.astimezone(self.zone)

    def show(self, moment: datetime) -> str:
        return self.local(moment).strftime("%Y-%m-%d %H:%M %Z")

    def describe(self) -> str:
        return f"{self.show(self.since)} to {self.show(self.until)} ({self.zone.key})"

    def days(self) -> list[date]:
        """Every local calendar day the period touches, in order."""
        first = self.local(self.since).date()
        last = self.local(self.until - timedelta(microseconds=1)).date()
        return [first + timedelta(days=i) for i in range((last - first).days + 1)]

    def offset_spans(self) -> list[tuple[datetime | None, int]]:
        """(end in UTC, UTC offset in seconds) for each stretch of one offset; the last
        stretch is open-ended. Offset changes are found to the second by bisection."""
        spans: list[tuple[datetime | None, int]] = []
        start, end = int(self.since.timestamp()), int(self.until.timestamp()) + 1
        current = self._offset(start)
        step = 6 * 3600
        for t in range(start, end, step):
            nxt = min(t + step, end)
            if self._offset(nxt) == current:
                continue
            lo, hi = t, nxt  # offset(lo) == current != offset(hi)
            while hi - lo > 1:
                mid = (lo + hi) // 2
                lo, hi = (mid, hi) if self._offset(mid) == current else (lo, mid)
            spans.append((datetime.fromtimestamp(hi, UTC), current))
            current = self._offset(hi)
        spans.append((None, current))
        return spans

    def _offset(self, timestamp: int) -> int:
        offset = datetime.fromtimestamp(timestamp, self.zone).utcoffset()
        return int(offset.total_seconds()) if offset is not None else 0


def parse_period(since: str, until: str | None, *, now: datetime, timezone: str) -> Period:
    """``since`` is a duration back from ``until`` (30d, 12h, 2w) or a date/time in the
    configured zone; ``until`` (exclusive) is a date/time or, by default, now."""
    zone = ZoneInfo(timezone)
    end = _moment(until, "--until", zone) if until else now
    start = _moment(since, "--since", zone, relative_to=end)
    if start >= end:
        raise ReportError(f"--since ({since}) must be before --until ({until or 'now'})")
    if end - start > LONGEST:
        raise ReportError(f"the period from --since {since} is longer than ten years")
    return Period(since=start, until=end, as_of=min(end, now), zone=zone)


def _moment(
    text: str, option: str, zone: ZoneInfo, *, relative_to: datetime | None = None
) -> datetime:
    value = text.strip().lower()
    duration = re.fullmatch(r"(\d{1,5})\s*([hdw])", value)
    if duration and relative_to is not None:
        amount = int(duration.group(1))
        if amount == 0:
            raise ReportError(f"{option}: the period must be longer than 0 ({text})")
        return relative_to - timedelta(**{UNITS[duration.group(2)]: amount})
    try:
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
            moment = datetime.combine(date.fromisoformat(value), time(), tzinfo=zone)
        else:
            moment = datetime.fromisoformat(text.strip())
            moment = moment if moment.tzinfo else moment.replace(tzinfo=zone)
        return moment.astimezone(UTC)
    except (ValueError, OverflowError):
        raise ReportError(f"{option}: expected {EXPECTED[option]}, not {text!r}") from None
