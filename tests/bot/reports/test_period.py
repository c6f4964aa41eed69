"""What ``--since`` and ``--until`` mean, in the configured time zone."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest

from bot.reports import ReportError, parse_period

NOW = datetime(2026, 3, 20, 15, 30, tzinfo=UTC)


def test_since_30d_is_the_last_thirty_days_up_to_now() -> None:
    p = parse_period("30d", None, now=NOW, timezone="Europe/Berlin")
    assert (p.since, p.until, p.as_of) == (datetime(2026, 2, 18, 15, 30, tzinfo=UTC), NOW, NOW)
    assert parse_period("12h", None, now=NOW, timezone="UTC").since.hour == 3
    assert parse_period("2w", None, now=NOW, timezone="UTC").since.day == 6


def test_a_date_means_local_midnight_and_until_is_not_included() -> None:
    p = parse_period("2026-02-01", "2026-03-01", now=NOW, timezone="Europe/Berlin")
    assert p.since == datetime(2026, 1, 31, 23, 0, tzinfo=UTC)  # midnight CET
    assert p.until == datetime(2026, 2, 28, 23, 0, tzinfo=UTC)
    assert p.describe() == "2026-02-01 00:00 CET to 2026-03-01 00:00 CET (Europe/Berlin)"
    assert len(p.days()) == 28  # February, nothing of March


def test_a_date_time_and_an_explicit_offset_are_understood() -> None:
    p = parse_period("2026-03-01T09:30", "2026-03-01T12:00+00:00", now=NOW, timezone="Asia/Tokyo")
    assert p.since == datetime(2026, 3, 1, 0, 30, tzinfo=UTC)
    assert p.until == datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def test_a_period_reaching_into_the_future_judges_clocks_as_of_now() -> None:
    p = parse_period("2026-03-01", "2026-04-01", now=NOW, timezone="UTC")
    assert p.as_of == NOW


def test_daylight_saving_changes_are_found_to_the_second() -> None:
    p = parse_period("2026-03-01", "2026-11-30", now=NOW, timezone="Europe/Berlin")
    assert p.offset_spans() == [
        (datetime(2026, 3, 29, 1, 0, tzinfo=UTC), 3600),
        (datetime(2026, 10, 25, 1, 0, tzinfo=UTC), 7200),
        (None, 3600),
    ]
    assert parse_period("30d", None, now=NOW, timezone="UTC").offset_spans() == [(None, 0)]


@pytest.mark.parametrize(
    ("since", "until", "message"),
    [
        ("abc", None, "--since: expected a duration like 30d, 12h or 2w, or a date"),
        ("30x", None, "--since: expected a duration"),
        ("0d", None, "--since: the period must be longer than 0"),
        ("2026-02-30", None, "--since: expected"),
        ("30d", "30d", "--until: expected a date like 2026-03-01"),
        ("2026-03-10", "2026-03-01", "--since (2026-03-10) must be before --until (2026-03-01)"),
        ("2026-04-01", None, "must be before --until (now)"),
        ("0001-01-01", None, "longer than ten years"),
    ],
)
def test_input_that_is_not_a_period_is_refused_in_one_line(
    since: str, until: str | None, message: str
) -> None:
    with pytest.raises(ReportError, match=re.escape(message)):
        parse_period(since, until, now=NOW, timezone="UTC")
