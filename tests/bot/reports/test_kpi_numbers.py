"""A supervisor checks the report's numbers against the week in fixture.py, by hand.

Each expected number is worked out in the comment beside it from the table in
fixture.py's docstring; definitions are in docs/kpis.md.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from bot.app import open_repository
from bot.reports import Period, Report, build_report
from bot.reports.model import Value
from bot.storage.kpi_queries import GroupBy
from tests.bot.reports.fixture import fixture_settings
from tests.databases import Database


async def report_of(week: Database, period: Period, by: GroupBy | None = None) -> Report:
    settings = fixture_settings(Path("."), week)
    repo = await open_repository(settings)
    try:
        return await build_report(repo.engine, settings, period, by)
    finally:
        await repo.close()


def numbers(values: dict[str, Value]) -> dict[str, float | None]:
    return {k: None if v.value is None else round(v.value, 4) for k, v in values.items()}


async def test_every_kpi_of_the_week_is_what_we_computed_by_hand(
    week_database: Database, period: Period
) -> None:
    r = await report_of(week_database, period)
    o = r.overall
    assert o["contacts"] == Value(10, 10)  # c1-c10; c0, c11, c12 fall outside
    # claimed after 10, 5, 20, 30 min (K1, K2, K3, K5): sorted 5 10 20 30
    assert o["acknowledge_median"] == Value(15.0, 4)  # 10 + 0.5 * (20 - 10)
    assert o["acknowledge_p90"] == Value(27.0, 4)  # rank 1 + 3 * 0.9 = 3.7: 20 + 0.7 * 10
    assert o["first_response_median"] == Value(27.5, 4)  # 20 25 30 45
    assert o["first_response_p90"] == Value(40.5, 4)  # 30 + 0.7 * 15
    assert o["resolution_median"] == Value(120.0, 3)  # 30, 120, 1260 (K2: 21 h)
    assert o["resolution_p90"] == Value(1032.0, 3)  # rank 2.8: 120 + 0.8 * 1140
    # resolved: c1 c2 c3 (bot) + K1 K2 K3; at first contact: all but K2 (reopened)
    assert o["first_contact_resolution"] == Value(5 / 6, 6, 5)
    assert o["bot_resolution_rate"] == Value(3 / 10, 10, 3)
    assert o["escalation_rate"] == Value(5 / 10, 10, 5)  # c4 c5 c6 c7 c10 opened cases
    assert o["csat"] == Value(3.8, 5)  # 5 4 2 5 3
    assert o["csat_satisfied"] == Value(3 / 5, 5, 3)
    assert o["nps"] == Value(25.0, 4)  # 10 9 7 3: 50% promoters - 25% detractors
    assert o["average_handling"] == Value(37.0, 6)  # (4 + 6 + 2 + 120 + 60 + 30) / 6
    # first response due in the period: K1-K5; K4 flagged breached
    assert o["sla_first_response"] == Value(4 / 5, 5, 4)
    # resolution due in the period: K1 K2 K3 met; K5 never resolved; K6 flagged
    assert o["sla_resolution"] == Value(3 / 5, 5, 3)
    assert o["reopen_rate"] == Value(1 / 3, 3, 1)  # K2 of K1 K2 K3
    assert r.totals == {"contacts": 10, "cases": 5, "ratings": 9}


async def test_targets_come_from_the_settings_and_judge_each_kpi(
    week_database: Database, period: Period
) -> None:
    r = await report_of(week_database, period)
    judged = {k.key: (k.target_text(), k.met(r.overall[k.key].value)) for k in r.kpis}
    assert judged["acknowledge_median"] == ("≤ 15.0 min", True)  # exactly on target
    assert judged["acknowledge_p90"] == ("≤ 15.0 min", False)
    assert judged["first_response_p90"] == ("≤ 2.0 h", True)  # sla.first_response_minutes
    assert judged["resolution_p90"] == ("≤ 24.0 h", True)  # sla.resolution_hours
    assert judged["first_contact_resolution"] == ("≥ 80.0%", True)
    assert judged["escalation_rate"] == ("< 10.0%", False)
    assert judged["csat"] == ("≥ 4.50", False)
    assert judged["average_handling"] == ("≤ 5.0 min", False)
    assert judged["nps"] == ("", None)  # tracked, no target


async def test_per_agent_the_bot_and_unclaimed_cases_are_their_own_rows(
    week_database: Database, period: Period
) -> None:
    groups = (await report_of(week_database, period, "agent")).groups
    assert list(groups) == ["bob", "eve", "(bot)", "(unassigned)"]
    bob, eve, bot, nobody = (numbers(groups[g]) for g in groups)
    assert bob["contacts"] == 2 and bob["first_contact_resolution"] == 0.5  # K1 yes, K2 no
    assert bob["acknowledge_median"] == 7.5 and bob["resolution_median"] == 690.0  # 120, 1260
    assert bob["csat"] == 2.5 and bob["nps"] == -50.0  # csat 2, 3; nps 7, 3
    assert bob["sla_resolution"] == round(2 / 3, 4)  # K1 K2 met, K6 (created before) breached
    assert bob["reopen_rate"] == 0.5
    assert eve["first_contact_resolution"] == 1.0  # K3; K5 was never resolved
    assert eve["average_handling"] == 30.0 and eve["sla_resolution"] == 0.5  # K3 met, K5 not
    assert bot["bot_resolution_rate"] == 0.6 and bot["average_handling"] == 4.0  # 4 6 2
    assert bot["csat"] == 4.5 and bot["sla_first_response"] is None
    assert nobody["escalation_rate"] == 1.0 and nobody["sla_first_response"] == 0.0  # K4


async def test_per_channel_cases_count_on_their_conversation_channel(
    week_database: Database, period: Period
) -> None:
    groups = (await report_of(week_database, period, "channel")).groups
    assert list(groups) == ["slack", "telegram"]
    slack, telegram = numbers(groups["slack"]), numbers(groups["telegram"])
    assert (telegram["contacts"], slack["contacts"]) == (6, 4)
    assert telegram["bot_resolution_rate"] == round(2 / 6, 4)  # c1 c2
    assert slack["bot_resolution_rate"] == 0.25  # c3
    assert telegram["first_contact_resolution"] == 1.0  # c1 c2 K1
    assert slack["first_contact_resolution"] == round(2 / 3, 4)  # c3 K3, not K2
    assert telegram["average_handling"] == round(130 / 3, 4)  # 4 6 120
    assert telegram["csat"] == round(11 / 3, 4) and slack["csat"] == 4.0
    assert telegram["sla_first_response"] == round(2 / 3, 4)  # K1 K5 met, K4 breached


async def test_per_category_a_bot_only_rating_counts_for_the_contact_it_ended(
    week_database: Database, period: Period
) -> None:
    groups = (await report_of(week_database, period, "category")).groups
    assert list(groups) == ["billing", "shipping", "technical", "(none)"]
    # chat "a" had an 'account' contact (c0) before c1 and another after (c11): the
    # ratings given after c1 belong to shipping
    assert numbers(groups["shipping"])["csat"] == 4.5
    assert numbers(groups["shipping"])["nps"] == 100.0
    assert numbers(groups["billing"])["csat"] == 2.5  # K1 2, K2 3
    assert numbers(groups["technical"])["contacts"] == 4
    assert numbers(groups["(none)"])["contacts"] == 1  # c9 said nothing classifiable


async def test_recurring_issues_list_categories_and_knowledge_base_gaps(
    week_database: Database, period: Period
) -> None:
    r = await report_of(week_database, period)
    assert r.reasons == [("failed_resolution", 2), ("legal", 1), ("no_answer", 1),
                         ("requested", 1)]  # fmt: skip
    assert r.categories == [("technical", 4, 2), ("billing", 3, 3), ("shipping", 2, 0),
                            ("(none)", 1, 0)]  # fmt: skip
    gaps = [(g.question, g.asked, g.unanswered, g.rejected) for g in r.kb_gaps]
    assert gaps == [
        ("where is my parcel?", 3, 2, 1),  # three spellings, one asked before the period
        ("can i pay with crypto?", 2, 0, 2),
        ("<script>alert(1)</script>", 1, 1, 0),
    ]  # the accepted password question is no gap
    assert r.csat_distribution == {1: 0, 2: 1, 3: 1, 4: 1, 5: 2}  # the 1 was before


async def test_days_are_new_york_days_across_the_daylight_saving_change(
    week_database: Database, period: Period
) -> None:
    r = await report_of(week_database, period)
    days = {d.day: d for d in r.days}
    assert list(days) == [date(2026, 3, d) for d in range(2, 11)]  # 9 local days
    assert days[date(2026, 3, 2)].contacts == 2  # c2 at 03:30 UTC is 22:30 the day before
    assert days[date(2026, 3, 3)].contacts == 0
    assert (days[date(2026, 3, 2)].csat_n, days[date(2026, 3, 2)].csat_mean) == (2, 4.5)
    assert days[date(2026, 3, 8)].contacts == 1  # c10 only
    assert days[date(2026, 3, 9)].bot_resolved == 1  # c3 at 04:30 UTC is 00:30 EDT
    assert days[date(2026, 3, 10)].contacts == 2
    assert sum(d.contacts for d in r.days) == 10
    assert period.offset_spans()[0][1] == -5 * 3600  # EST, then EDT from 07:00 UTC
    assert str(period.offset_spans()[0][0]) == "2026-03-08 07:00:00+00:00"


@pytest.mark.parametrize("by", [None, "agent", "category", "channel"])
async def test_a_report_never_holds_the_write_lock_while_it_reads(
    week: Path, period: Period, tmp_path: Path, by: GroupBy | None
) -> None:
    """The bot keeps writing while a supervisor's report reads (SQLite WAL snapshot)."""
    import shutil

    from bot.storage import kpi_queries as kq
    from bot.storage.kpi_snapshot import run, snapshot
    from bot.storage.models import Cursor
    from tests.bot.reports.fixture import at

    shutil.copy(week / "support.db", tmp_path / "support.db")
    settings = fixture_settings(tmp_path, busy_timeout_ms=200)
    repo = await open_repository(settings)
    try:
        window = kq.Window(period.since, period.until, period.as_of)
        async with snapshot(repo.engine) as readers:
            before = await run(readers, kq.contact_stats(window, by))
            async with repo.transaction() as tx:  # would wait, then fail, if locked
                tx.session.add(Cursor(name="x", value="1", updated_at=at("03-05 00:00")))
            assert await run(readers, kq.contact_stats(window, by)) == before
    finally:
        await repo.close()


async def test_postgresql_gives_the_same_report(
    postgres_week: Database, week: Path, period: Period
) -> None:
    """The deployment database computes exactly what SQLite computes, in every view."""
    on_sqlite_file = Database("sqlite", f"sqlite+aiosqlite:///{week / 'support.db'}")
    for by in (None, "agent", "category", "channel"):
        on_postgres = await report_of(postgres_week, period, by)
        on_sqlite = await report_of(on_sqlite_file, period, by)
        assert numbers(on_postgres.overall) == numbers(on_sqlite.overall)
        assert {g: numbers(v) for g, v in on_postgres.groups.items()} == {
            g: numbers(v) for g, v in on_sqlite.groups.items()
        }
        assert on_postgres.reasons == on_sqlite.reasons
        assert on_postgres.categories == on_sqlite.categories
        assert on_postgres.kb_gaps == on_sqlite.kb_gaps
        assert on_postgres.days == on_sqlite.days
        assert on_postgres.csat_distribution == on_sqlite.csat_distribution
