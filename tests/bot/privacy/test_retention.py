"""Retention with a controllable clock: each kind of record goes when its time is up,
open cases never do, the dry run only counts, and the running bot purges daily."""

from __future__ import annotations

import asyncio
import contextlib
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from bot import runner
from bot.app import running_app
from bot.delivery import DeliveryUncertain
from bot.errors import ChannelError
from bot.messages import Message, Reply
from bot.privacy import retention
from bot.privacy.retention import run_if_due
from bot.runner import background
from bot.settings import Settings
from bot.storage.models import (
    AuditEvent,
    Case,
    Customer,
    Feedback,
    KbQuery,
    MessageRecord,
    OutboxItem,
)
from tests.bot.privacy.scenario import OMAR, bench, scenario_settings, zelda_and_omar
from tests.conftest import Clock, Recorder
from tests.databases import Database


async def counts(b: object) -> dict[str, object]:
    async with b.app.repo.transaction() as tx:  # type: ignore[attr-defined]
        s = tx.session
        return {
            "messages": await s.scalar(select(func.count()).select_from(MessageRecord)),
            "comments": await s.scalar(select(func.count()).where(Feedback.comment.is_not(None))),
            "queries": list(await s.scalars(select(KbQuery.query))),
            "summaries": list(await s.scalars(select(Case.summary).order_by(Case.id))),
            "erased": list(await s.scalars(select(Customer.id).where(
                Customer.erased_at.is_not(None)))),
        }  # fmt: skip


async def test_each_kind_goes_at_its_time_and_open_cases_stay(
    tmp_path: Path, database: Database, clock: Clock
) -> None:
    settings = scenario_settings(tmp_path, database, retention={
        "messages_days": 30, "closed_cases_days": 60, "feedback_comments_days": 10,
        "kb_queries_days": 5, "logs_days": 3, "audit_days": 100,
        "inactive_customers_days": 365})  # fmt: skip
    async with bench(settings, clock) as b:
        await zelda_and_omar(b)
        await b.say("ivy", "Ivy", "I want a human, about my order")  # case #3 stays open
        keep = retention.RetentionSettings()
        start = await counts(b)
        assert start["comments"] == 2 and start["messages"] > 40

        clock.advance(days=6)
        dry = await retention.apply(b.app.repo, settings.retention, clock(), dry_run=True)
        lookups = len(start["queries"])  # type: ignore[arg-type]
        assert lookups >= 2 and dry.counts()["kb_queries.kb_queries"] == lookups
        assert await counts(b) == start  # a dry run changes nothing
        await retention.apply(b.app.repo, settings.retention, clock())
        after = await counts(b)
        assert after["queries"] == ["[erased]"] * lookups and after["comments"] == 2

        clock.advance(days=5)  # 11 days: comments
        await retention.apply(b.app.repo, settings.retention, clock())
        assert (await counts(b))["comments"] == 0

        clock.advance(days=25)  # 36 days: messages outside cases, and of closed cases
        await retention.apply(b.app.repo, keep, clock())  # nothing with the defaults
        assert (await counts(b))["messages"] == start["messages"]
        report = await retention.apply(b.app.repo, settings.retention, clock())
        assert report.counts()["messages.messages"] > 0
        async with b.app.repo.transaction() as tx:
            left = list(await tx.session.scalars(select(MessageRecord.conversation_id)))
        assert set(left) == {3}  # Ivy's open case keeps her whole conversation

        clock.advance(days=30)  # 66 days: the closed cases' texts
        await retention.apply(b.app.repo, settings.retention, clock())
        assert (await counts(b))["summaries"][:2] == ["[erased]", "[erased]"]
        assert (await counts(b))["summaries"][2] == "I want a human, about my order"

        clock.advance(days=300)  # a year of silence: Zelda and Omar are erased, Ivy is not
        report = await retention.apply(b.app.repo, settings.retention, clock())
        assert report.customers == [1, 2] and (await counts(b))["erased"] == [1, 2]
        async with b.app.repo.transaction() as tx:
            actions = list(await tx.session.scalars(select(AuditEvent.action)))
        assert actions == ["erased", "erased", "purged"]  # older events: past audit_days
        assert OMAR[1] not in str(await counts(b))


async def test_the_running_bot_purges_once_a_day(
    tmp_path: Path, database: Database, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = scenario_settings(tmp_path, database, timing={"timer_poll_seconds": 0.01},
                                 retention={"feedback_comments_days": 1})  # fmt: skip
    checks: list[object] = []
    two_more = asyncio.Event()  # set after two whole passes of the loop, however slow

    async def counted(*args: Any) -> object:
        checks.append(await run_if_due(*args))
        if len(checks) % 2 == 0:
            two_more.set()
        return checks[-1]

    monkeypatch.setattr(runner, "run_if_due", counted)
    async with bench(settings, clock) as b:
        runs = []

        async def ticks(hours: float, comment: str | None = None) -> None:
            clock.advance(hours=hours)
            if comment:  # a rating and a comment to purge a day later
                await b.say("kim", "Kim", "how do I exchange an item for another size")
                await b.press("kim", "Kim", "Yes")
                await b.press("kim", "Kim", "4")
                await b.say("kim", "Kim", comment)
            two_more.clear()
            task = asyncio.create_task(background(b.app.engine, poll=0.01))
            await two_more.wait()
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            async with b.app.repo.transaction() as tx:
                runs.append((await tx.cursor(retention.CURSOR), await tx.session.scalar(
                    select(func.count()).where(AuditEvent.action == "purged"))))  # fmt: skip

        await ticks(0, comment="lovely")
        await ticks(23)
        await ticks(1.5)
        first, day = clock() - timedelta(hours=24.5), clock() - timedelta(hours=0)
        assert runs == [(first.isoformat(), 0), (first.isoformat(), 0), (day.isoformat(), 1)]


async def test_delivery_records_go_when_done_whether_sent_or_given_up(
    settings: Settings, clock: Clock
) -> None:
    """``logs_days`` purges outbox rows that are finished: sent, or given up as
    uncertain (bot.delivery.DeliveryUncertain); one still waiting to go stays."""

    class Mixed(Recorder):
        async def send(self, address: str, reply: Reply) -> None:
            if address == "anna":
                raise DeliveryUncertain("request timeout")
            if address == "carl":
                raise ChannelError("channel down")
            await super().send(address, reply)

    async with running_app(settings, senders={"test": Mixed()}, now=clock) as app:
        for who in ("anna", "bob", "carl"):
            await app.engine.handle_message(
                Message("test", who, who, "hi", message_id=f"{who}-1", user_name=who.title())
            )
        await app.engine.deliver()
        clock.advance(days=4)
        await retention.apply(app.repo, retention.RetentionSettings(logs_days=3), clock())
        async with app.repo.transaction() as tx:
            left = (await tx.session.execute(select(OutboxItem.address, OutboxItem.status))).all()
    assert [tuple(row) for row in left] == [("carl", "pending")]
