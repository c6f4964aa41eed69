"""Business hours: when humans answer, in the company's time zone, with holidays.

SLA clocks count only open hours, and a customer who escalates at night is told when a
person will actually answer. Spans are built in local time and converted to UTC before
any arithmetic, so daylight-saving days of 23 or 25 hours come out right.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from bot.settings import HoursSettings

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
HORIZON_DAYS = 400  # a year of holidays cannot hide every opening


class BusinessHours:
    def __init__(self, settings: HoursSettings) -> None:
        self.zone = ZoneInfo(settings.timezone)
        self.holidays = set(settings.holidays)
        self.week = {
            DAYS.index(day): [_span(s) for s in spans] for day, spans in settings.week.items()
        }
        self.always_open = not any(self.week.values())

    def local(self, moment: datetime) -> datetime:
        return moment.astimezone(self.zone)

    def spans_from(self, moment: datetime) -> Iterator[tuple[datetime, datetime]]:
        """Open spans (UTC) that end after ``moment``, in order."""
        day = self.local(moment).date()
        for _ in range(HORIZON_DAYS):
            for start, end in self._day_spans(day):
                if end > moment:
                    yield start, end
            day += timedelta(days=1)

    def _day_spans(self, day: date) -> list[tuple[datetime, datetime]]:
        if day in self.holidays:
            return []
        spans = []
        for start, end in self.week.get(day.weekday(), []):
            local_end = (
                datetime.combine(day + timedelta(days=1), time(0), self.zone)
                if end == time(0)
                else datetime.combine(day, end, self.zone)
            )
            spans.append(
                (datetime.combine(day, start, self.zone).astimezone(UTC), local_end.astimezone(UTC))
            )
        return spans

    def is_open(self, moment: datetime) -> bool:
        if self.always_open:
            return True
        return any(
            start <= moment < end for start, end in self._day_spans(self.local(moment).date())
        )

    def next_opening(self, moment: datetime) -> datetime:
        """``moment`` itself when open, else the start of the next open span."""
        if self.always_open:
            return moment
        for start, _ in self.spans_from(moment):
            return max(start, moment)
        return moment  # no opening within the horizon: treat as open rather than never

    def add(self, moment: datetime, duration: timedelta) -> datetime:
        """The moment when ``duration`` of business time has passed after ``moment``."""
        if self.always_open:
            return moment + duration
        remaining = duration
        for start, end in self.spans_from(moment):
            begin = max(start, moment)
            if remaining <= end - begin:
                return begin + remaining
            remaining -= end - begin
        return moment + duration

    def between(self, start: datetime, end: datetime) -> timedelta:
        """Business time between two moments."""
        if end <= start:
            return timedelta(0)
        if self.always_open:
            return end - start
        total = timedelta(0)
        for span_start, span_end in self.spans_from(start):
            if span_start >= end:
                break
            total += min(span_end, end) - max(span_start, start)
        return total

    def describe(self, moment: datetime) -> str:
        """A customer-facing local time, e.g. "Monday 09:00 (CET)"."""
        local = self.local(moment)
        return f"{local:%A %H:%M} ({local.tzname()})"


def _span(text: str) -> tuple[time, time]:
    start, end = text.split("-")
    return time.fromisoformat(start), (time(0) if end == "24:00" else time.fromisoformat(end))
