"""Slack's retries and the 3-second rule: what was done is not done twice, what was not
done is done, and Slack is answered in time whatever the work behind it."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import func, select

from bot.dialogue.texts import SEND_AGAIN
from bot.messages import Message
from bot.storage.models import MessageRecord, OutboxItem
from tests.bot.channels.slack.conftest import AGENTS, Harness, running, texts
from tests.bot.channels.slack.fake_slack import FakeSlack, eventually
from tests.conftest import Clock

GREETING = (
    "Hello Anna, thank you for contacting Acme Customer Support. My name is Sam. "
    "How can I assist you today?"
)


@contextmanager
def database_locked(tmp_path: Path) -> Iterator[sqlite3.Connection]:
    """Another process holds the SQLite write lock (a long transaction, a stuck job)."""
    conn = sqlite3.connect(tmp_path / "support.db", isolation_level=None)
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield conn
    finally:
        conn.rollback()
        conn.close()


async def _messages(h: Harness) -> int:
    async with h.app.repo.transaction() as tx:
        return int(await tx.session.scalar(select(func.count()).select_from(MessageRecord)) or 0)


async def test_a_retry_of_a_handled_event_does_nothing(slack: Harness) -> None:
    anna = slack.customer("U_ANNA", "D_ANNA")
    hello = anna.message("hi")
    assert await slack.http.event(hello, event_id="Ev1") == 200
    await slack.settled()
    assert texts(anna.new()) == [GREETING]
    before = await _messages(slack)

    for attempt in (1, 2, 3):  # Slack thought we timed out
        assert await slack.http.event(hello, event_id="Ev1", retry=attempt) == 200
    await slack.settled()
    assert anna.new() == []
    assert await _messages(slack) == before


async def test_a_retry_of_an_event_that_never_arrived_is_processed(slack: Harness) -> None:
    anna = slack.customer("U_ANNA", "D_ANNA")
    assert await slack.http.event(anna.message("hi"), event_id="Ev7", retry=1) == 200
    await slack.settled()
    assert texts(anna.new()) == [GREETING]


async def test_an_agent_reply_redelivered_reaches_the_customer_once(slack: Harness) -> None:
    anna, bob = slack.customer("U_ANNA", "D_ANNA"), slack.agent("U_BOB")
    await anna.says("I want to talk to a human")
    anna.new()
    reply = {"type": "message", "channel": AGENTS, "user": "U_BOB", "text": "Hello Anna",
             "ts": slack.ts(), "thread_ts": bob.card(1).ts}  # fmt: skip
    assert await slack.http.event(reply, event_id="EvR") == 200
    assert await slack.http.event(reply, event_id="EvR", retry=1) == 200
    await slack.settled()
    assert texts(anna.new()) == ["*Bob* (Acme support):\nHello Anna"]


async def test_a_failed_first_attempt_answers_500_and_the_retry_is_processed(
    tmp_path: Path, clock: Clock, fake: FakeSlack
) -> None:
    async with running(tmp_path, clock, fake, settings={"busy_timeout_ms": 200}) as h:
        anna = h.customer("U_ANNA", "D_ANNA")
        hello = anna.message("hi")
        with database_locked(tmp_path):
            assert await h.http.event(hello, event_id="Ev1") == 500  # Slack will retry
        assert await h.http.event(hello, event_id="Ev1", retry=1) == 200
        await h.settled()
        assert texts(anna.new()) == [GREETING]
        assert await _messages(h) == 2


async def test_slow_work_is_acknowledged_in_time_and_finished_afterwards(
    tmp_path: Path, clock: Clock, fake: FakeSlack
) -> None:
    async with running(tmp_path, clock, fake, slack={"ack_budget_seconds": 0.2}) as h:
        anna = h.customer("U_ANNA", "D_ANNA")
        with database_locked(tmp_path) as db:
            # answered while the work is still waiting for the database
            assert await h.http.event(anna.message("hi")) == 200
            assert db.execute("SELECT count(*) FROM messages").fetchone() == (0,)
        await eventually(lambda: len(h.fake.in_channel("D_ANNA")) == 1, what="the greeting")
        assert texts(anna.new()) == [GREETING]


async def test_work_that_fails_after_the_ack_asks_the_customer_to_send_again(
    tmp_path: Path, clock: Clock, fake: FakeSlack
) -> None:
    settings, slack = {"busy_timeout_ms": 500}, {"ack_budget_seconds": 0.1}
    async with running(tmp_path, clock, fake, settings=settings, slack=slack) as h:
        anna = h.customer("U_ANNA", "D_ANNA")
        with database_locked(tmp_path):
            assert await h.http.event(anna.message("hi")) == 200
            await eventually(lambda: anna.new() != [], what="the apology")
        assert texts(h.fake.in_channel("D_ANNA")) == [SEND_AGAIN]
        assert await _messages(h) == 0


async def test_when_slacks_last_retry_fails_the_customer_is_asked_to_send_again(
    tmp_path: Path, clock: Clock, fake: FakeSlack
) -> None:
    async with running(tmp_path, clock, fake, settings={"busy_timeout_ms": 100}) as h:
        anna = h.customer("U_ANNA", "D_ANNA")
        with database_locked(tmp_path):
            assert await h.http.event(anna.message("hi"), retry=3) == 500
        assert texts(anna.new()) == [SEND_AGAIN]


async def test_a_reply_whose_post_got_no_answer_is_posted_once_more_at_most(
    tmp_path: Path, clock: Clock, fake: FakeSlack
) -> None:
    """Slack shows the greeting, but its answers to chat.postMessage never come in time:
    the bot cannot know the greeting arrived, posts it once more, then gives it up."""
    slow = {"request_timeout": 1, "ack_budget_seconds": 0.2}
    async with running(tmp_path, clock, fake, slack=slow) as slack:
        anna = slack.customer("U_ANNA", "D_ANNA")
        answers = fake.hold_answers("D_ANNA")
        assert await slack.http.event(anna.message("hi")) == 200

        async def given_up() -> bool:
            async with slack.app.repo.transaction() as tx:
                stmt = select(OutboxItem.status).where(OutboxItem.address == "D_ANNA")
                return list((await tx.session.execute(stmt)).scalars()) == ["uncertain"]

        await eventually(given_up, what="the greeting given up as uncertain")
        await slack.settled()  # nothing else pending: the chat is not blocked
        assert texts(anna.new()) == [GREETING, GREETING]  # twice, never a third time

        answers.set()  # Slack answers in time again: each reply is posted once
        assert texts(await anna.says("where is my order")) != []
        assert len(fake.in_channel("D_ANNA")) == len({p.ts for p in fake.in_channel("D_ANNA")})


async def test_past_the_bound_events_are_refused_at_once_and_served_when_retried(
    tmp_path: Path, clock: Clock, fake: FakeSlack
) -> None:
    """Work in progress is bounded: an event past it is answered 503 at once, not kept
    in memory behind the others, and Slack's retry of it is served."""
    slack = {"max_events_in_progress": 2, "ack_budget_seconds": 0.1}
    async with running(tmp_path, clock, fake, slack=slack) as h:
        engine = h.app.engine
        handle, go_on = engine.handle_message, asyncio.Event()

        async def slow(message: Message) -> bool:
            await go_on.wait()  # a database far behind
            return await handle(message)

        engine.handle_message = slow  # type: ignore[method-assign]
        anna, bea, cem = (h.customer(f"U_{n}", f"D_{n}") for n in ("ANNA", "BEA", "CEM"))
        assert await h.http.event(anna.message("hi")) == 200  # acknowledged, still running
        assert await h.http.event(bea.message("hi")) == 200
        late = cem.message("hi")
        assert await h.http.event(late, event_id="EvLate") == 503
        assert h.service.budget.refused == 1
        go_on.set()
        await eventually(lambda: h.service.budget.in_progress == 0, what="the work to end")
        assert await h.http.event(late, event_id="EvLate", retry=1) == 200  # Slack retries
        await h.settled()
        assert [len(c.new()) for c in (anna, bea, cem)] == [1, 1, 1]
