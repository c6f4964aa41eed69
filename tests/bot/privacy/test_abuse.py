"""A customer flooding the bot is slowed down politely and limited in cases per hour;
nothing is lost, and other customers are answered as usual meanwhile."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from bot.privacy.guard import SLOW_DOWN, Throttle
from bot.storage.models import MessageRecord
from tests.bot.privacy.scenario import bench, scenario_settings
from tests.conftest import Clock
from tests.databases import Database


def test_the_throttle_lets_a_burst_through_then_refills_and_forgets_quiet_customers() -> None:
    throttle, start = Throttle(3), datetime(2026, 3, 2, tzinfo=UTC)
    paces = [throttle.check("k", start + timedelta(seconds=i)) for i in range(6)]
    assert paces == ["ok", "ok", "ok", "slow_down", "quiet", "quiet"]
    assert throttle.check("k", start + timedelta(seconds=25)) == "ok"  # a token back
    assert throttle.check("k", start + timedelta(seconds=26)) == "slow_down"  # not two
    assert throttle.check("k", start + timedelta(minutes=2)) == "ok"
    for i in range(1100):
        throttle.check(i, start + timedelta(minutes=2))
    throttle.check("late", start + timedelta(minutes=5))
    assert len(throttle) == 1  # the others' buckets are full again: forgotten


class Clocked(datetime):
    """A moment that counts how often the throttle compares it with another."""

    comparisons = 0

    def __sub__(self, other: Any) -> Any:
        Clocked.comparisons += 1
        return super().__sub__(other)


def test_thousands_of_customers_in_a_minute_cost_the_same_per_message() -> None:
    """An outage: 5,000 customers in 50 seconds, then 2,000 more. Each is remembered
    until its bucket has refilled (here 20 s after one message), then forgotten a
    generation at a time; no message walks them all."""
    throttle, start = Throttle(3), Clocked(2026, 3, 2, tzinfo=UTC)
    for i in range(5000):
        throttle.check(i, start + timedelta(milliseconds=10 * i))
    assert len(throttle) < 2500  # the first ones' buckets were full again by 20-30 s
    assert 0 not in throttle and 4999 in throttle
    for i in range(2000):  # 61 to 81 s
        throttle.check(f"new{i}", start + timedelta(seconds=61, milliseconds=10 * i))
    assert 4999 not in throttle and len(throttle) <= 2000
    assert Clocked.comparisons <= 4 * 7000  # a sweep of all per message: 20,000,000
    paces = [throttle.check("new1999", start + timedelta(seconds=82)) for _ in range(3)]
    assert paces == ["ok", "ok", "slow_down"]  # two tokens left after its first message


async def test_a_flood_is_kept_unanswered_and_others_are_served(
    tmp_path: Path, database: Database, clock: Clock
) -> None:
    settings = scenario_settings(tmp_path, database, abuse={"messages_per_minute": 5})
    async with bench(settings, clock) as b:
        await b.say("mallory", "Mallory", "I want a human")
        for i in range(200):
            await b.say("mallory", "Mallory", f"spam {i}")
            if i == 100:
                await b.say("ann", "Ann", "hi")
                assert b.seen_by("ann")[-1].text.startswith("Hello Ann")
        to_mallory = [r.text for r in b.seen_by("mallory")]
        assert to_mallory.count(SLOW_DOWN) == 1 and len(to_mallory) <= 4
        await b.app.engine.deliver()
        desk = [r.text for _, r in b.desk.sent]
        assert len(desk) <= 8 and sum("many messages at once" in t for t in desk) == 1
        async with b.app.repo.transaction() as tx:
            stored = await tx.session.scalar(
                select(func.count()).select_from(MessageRecord)
                .where(MessageRecord.conversation_id == 1, MessageRecord.direction == "in")
            )  # fmt: skip
        assert stored == 201  # nothing lost
        clock.advance(minutes=2)
        await b.say("mallory", "Mallory", "sorry, one more detail")  # at a calm pace again
        await b.app.engine.deliver()
        assert b.desk.sent[-1][1].text == "Case #1 · Mallory: sorry, one more detail"


async def test_no_more_than_the_set_number_of_cases_per_hour(
    tmp_path: Path, database: Database, clock: Clock
) -> None:
    settings = scenario_settings(tmp_path, database, abuse={"cases_per_hour": 1})
    async with bench(settings, clock) as b:
        await b.say("eve", "Eve", "I want a human")
        await b.app.desk.resolve(1, "Bob", "done")
        await b.press("eve", "Eve", "Skip")
        clock.advance(minutes=10)
        await b.say("eve", "Eve", "I want a human again")
        assert "can't open another one right now" in b.seen_by("eve")[-1].text
        clock.advance(hours=1)
        await b.say("eve", "Eve", "I want a human please")
        assert "opened case #2" in b.seen_by("eve")[-1].text
