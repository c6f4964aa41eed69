"""Business hours across weekends, holidays and daylight-saving changes."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from bot.settings import HoursSettings
from handoff.hours import BusinessHours

BERLIN = HoursSettings(timezone="Europe/Berlin", holidays=[date(2026, 12, 25)])


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def test_open_on_weekdays_in_local_time() -> None:
    hours = BusinessHours(BERLIN)
    assert hours.is_open(utc(2026, 3, 2, 8, 30))  # Monday 09:30 CET
    assert not hours.is_open(utc(2026, 3, 2, 7, 30))  # 08:30 CET
    assert not hours.is_open(utc(2026, 3, 7, 10, 0))  # Saturday


def test_next_opening_skips_the_weekend_and_holidays() -> None:
    hours = BusinessHours(BERLIN)
    friday_evening = utc(2026, 3, 6, 18, 0)
    assert hours.next_opening(friday_evening) == utc(2026, 3, 9, 8, 0)  # Monday 09:00 CET
    christmas_eve_night = utc(2026, 12, 24, 20, 0)
    assert hours.next_opening(christmas_eve_night) == utc(2026, 12, 28, 8, 0)  # Sat, Sun, Mon
    assert hours.describe(utc(2026, 3, 9, 8, 0)) == "Monday 09:00 (CET)"


def test_adding_business_time_carries_over_nights() -> None:
    hours = BusinessHours(BERLIN)
    # Monday 16:00 CET + 2 business hours = Tuesday 10:00 CET
    assert hours.add(utc(2026, 3, 2, 15, 0), timedelta(hours=2)) == utc(2026, 3, 3, 9, 0)
    # from Saturday: counting starts on Monday at 09:00
    assert hours.add(utc(2026, 3, 7, 12, 0), timedelta(minutes=15)) == utc(2026, 3, 9, 8, 15)


def test_daylight_saving_change_is_respected() -> None:
    hours = BusinessHours(BERLIN)
    # clocks go forward on Sunday 29 March 2026: 09:00 local is 07:00 UTC from Monday 30
    assert hours.next_opening(utc(2026, 3, 27, 17, 0)) == utc(2026, 3, 30, 7, 0)
    assert hours.between(utc(2026, 3, 27, 15, 0), utc(2026, 3, 30, 8, 0)) == timedelta(hours=2)


def test_no_opening_hours_means_always_open() -> None:
    hours = BusinessHours(HoursSettings(week={"mon": [], "sun": []}))
    now = utc(2026, 3, 7, 3, 0)
    assert hours.is_open(now)
    assert hours.next_opening(now) == now
    assert hours.add(now, timedelta(hours=1)) == now + timedelta(hours=1)
