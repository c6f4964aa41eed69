"""The statement budget of a busy moment: rows that nothing reads back by id (timers,
case events, audit events) and updates of rows it does not read again (conversations'
new states, contacts' outcomes) are written once per table and batch, not once per
row; a reader in the same transaction still sees them."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import UTC, datetime

import pytest
from sqlalchemy import event, select, update

from bot.messages import Message
from bot.storage.models import Contact, FollowUp, KbQuery
from handoff.supervision import RESOLUTION
from tests.conftest import Chat, statements


def said(user: str, text: str, message_id: str) -> Message:
    return Message("test", user, user, text, message_id=message_id, user_name=user.title())


USERS = [f"user{i}" for i in range(10)]


async def all_at_once(chat: Chat, texts: list[str]) -> tuple[Counter[str], int]:
    """Ten greeted customers write at once (``texts[i]`` from the i-th): the statements
    that cost and the number of batches (transactions) it took."""
    engine = chat.app.engine
    await asyncio.gather(*(engine.handle_message(said(u, "hi", "1")) for u in USERS))
    before = engine.inbound.batches
    with statements(chat.app.repo.engine) as seen:
        await asyncio.gather(*(
            engine.handle_message(said(u, text, "2"))
            for u, text in zip(USERS, texts, strict=True)
        ))  # fmt: skip
    return seen, engine.inbound.batches - before


async def test_ten_customers_asking_for_a_person_at_once_cost_a_statement_per_table(
    chat: Chat,
) -> None:
    seen, batches = await all_at_once(chat, ["I want to talk to a person"] * 10)
    assert seen["INSERT INTO cases"] == 10  # each case's number is needed at once
    assert seen["SELECT (SELECT count(*)"] == 20  # per case: its past, then its queue
    assert seen["UPDATE cases SET"] == 0  # routed and its clocks set before the INSERT
    assert batches < 10
    async with chat.app.repo.transaction() as tx:
        timers = (await tx.session.execute(select(FollowUp))).scalars().all()
        events = [e for n in range(1, 11) for e in await tx.case_events(n)]
    assert len(timers) >= 40 and len(events) == 10  # four or more timers per case
    for written in (
        "INSERT INTO followups",
        "INSERT INTO case_events",
        "UPDATE conversations SET",
        "UPDATE contacts SET",
        "INSERT INTO messages",  # a case's transcript does not write the batch's messages
        "INSERT INTO outbox",
        "SELECT agents.name, agents.status,",  # whether someone is available: read once
    ):
        assert 1 <= seen[written] <= batches, written


async def test_timers_set_and_cancelled_in_one_transaction_stay_cancelled(chat: Chat) -> None:
    """The customer writes twice while the case waits on them: each message restarts the
    resolution clock, cancelling the timers of the one before, which the second message
    finds still buffered in the same transaction."""
    await chat.say("hi")
    await chat.say("I want to talk to a person")
    supervision, now = chat.app.engine.supervision, chat.clock()
    async with chat.app.repo.transaction() as tx:
        case = await tx.case(1, lock=True)
        assert case is not None
        for _ in range(2):
            supervision.agent_replied(case, now)  # waiting on the customer: clock paused
            chat.clock.advance(minutes=5)
            await supervision.customer_wrote(tx, case, chat.clock())
    async with chat.app.repo.transaction() as tx:
        stmt = select(FollowUp.status).where(FollowUp.case_id == 1, FollowUp.kind.in_(RESOLUTION))
        statuses = Counter((await tx.session.execute(stmt)).scalars())
    assert statuses == {"cancelled": 4, "pending": 2}  # three schedulings, the last one stands


async def test_questions_nobody_could_answer_are_logged_together(chat: Chat) -> None:
    """An unanswered question's log row is never referred to again (unlike a suggested
    article's, whose outcome follows): ten of them in a batch are one INSERT, and each
    still reaches the knowledge-base gaps report."""
    seen, batches = await all_at_once(
        chat, [f"the zorblax {i} quibbles my flanges" for i in range(10)]
    )
    assert 1 <= seen["INSERT INTO kb_queries"] <= batches < 10
    async with chat.app.repo.transaction() as tx:
        logged = (await tx.session.execute(select(KbQuery))).scalars().all()
    assert sorted(q.query for q in logged if q.outcome == "unanswered") == sorted(
        f"the zorblax {i} quibbles my flanges" for i in range(10)
    )


async def test_ten_new_customers_at_once_are_opened_with_a_statement_per_table(
    chat: Chat,
) -> None:
    """An outage brings many first contacts at once: their customers, identities and
    conversations are created together, not five statements each."""
    engine = chat.app.engine
    await engine.handle_message(said("anna", "hi", "1"))  # known already
    before = engine.inbound.batches
    with statements(chat.app.repo.engine) as seen:
        await asyncio.gather(
            *(engine.handle_message(said(f"new{i}", "hi", "1")) for i in range(10)),
            engine.handle_message(Message("test", "anna-2", "anna", "hi", message_id="2")),
        )
    batches = engine.inbound.batches - before
    assert batches < 11
    for written in ("INSERT INTO customers", "INSERT INTO identities", "INSERT INTO conversations"):
        assert 1 <= seen[written] <= batches, written
    chats = [(f"new{i}", f"new{i}") for i in range(10)] + [("anna", "anna"), ("anna-2", "anna")]
    now = chat.clock()
    async with chat.app.repo.transaction() as tx:
        opened = {
            chat_id: await tx.conversation("test", chat_id, user_id=user, user_name=None, now=now)
            for chat_id, user in chats
        }
    customers = {chat_id: customer.id for chat_id, (_, customer) in opened.items()}
    assert len(set(customers.values())) == 11  # ten new customers, and Anna
    assert customers["anna-2"] == customers["anna"]  # her new chat: the same customer
    assert opened["new3"][1].display_name == "New3"
    assert all(conv.state != "start" for conv, _ in opened.values())  # each was greeted


async def test_suggested_articles_are_logged_together_and_their_outcomes_find_them(
    chat: Chat,
) -> None:
    """A suggested article's log row is buffered like the others: the dialogue keeps a
    placeholder for its id, the real one replaces it when the batch is written, and the
    customer's "Yes" in a later batch updates the right row."""
    engine = chat.app.engine
    seen, batches = await all_at_once(chat, ["How do I exchange an item?"] * 10)
    assert 1 <= seen["INSERT INTO kb_queries"] <= batches < 10
    await asyncio.gather(*(engine.handle_message(said(u, "Yes", "3")) for u in USERS))
    async with chat.app.repo.transaction() as tx:
        logged = (await tx.session.execute(select(KbQuery))).scalars().all()
        kept = [
            (await tx.conversation("test", u, user_id=u, user_name=None, now=chat.clock()))[0]
            for u in USERS
        ]
    assert [q.outcome for q in logged] == ["accepted"] * 10
    assert {q.conversation_id for q in logged} == {c.id for c in kept}


async def test_a_placeholder_id_is_replaced_wherever_the_transaction_wrote_it(chat: Chat) -> None:
    """Written halfway (a reader needed the table), then named again by a later turn of
    the same batch: the update and the conversation's saved data get the real id."""
    now = chat.clock()
    async with chat.app.repo.transaction() as tx:
        conv, _ = await tx.conversation("test", "zed", user_id="zed", user_name="Zed", now=now)
        query = tx.deferred.insert_returning(
            KbQuery, conversation_id=conv.id, query="where is my parcel", article_id=None,
            score=None, decision="answer", outcome="suggested", created_at=now,
        )  # fmt: skip
        assert query < 0
        tx.save_conversation(conv, data={"kb_query_id": query, "notes": [query]})
        await tx.write_pending()
        tx.deferred.update(KbQuery, query, outcome="accepted")
    async with chat.app.repo.transaction() as tx:
        (row,) = (await tx.session.execute(select(KbQuery))).scalars().all()
        conv, _ = await tx.conversation("test", "zed", user_id="zed", user_name="Zed", now=now)
    assert row.outcome == "accepted"
    assert conv.data == {"kb_query_id": row.id, "notes": [row.id]} and row.id > 0


async def test_a_placeholder_whose_row_was_rolled_back_is_not_stored(chat: Chat) -> None:
    """A turn that failed in a savepoint (a worker then replays its messages one by one)
    may leave its placeholder in the conversation's data kept in memory: it is stored
    as no id, and an update naming it is dropped, rather than failing the transaction."""
    now = chat.clock()
    async with chat.app.repo.transaction() as tx:
        conv, _ = await tx.conversation("test", "zed", user_id="zed", user_name="Zed", now=now)
        issued: list[int] = []

        async def failing_turn() -> None:
            async with tx.savepoint():
                issued.append(tx.deferred.insert_returning(
                    KbQuery, conversation_id=conv.id, query="where is my parcel",
                    article_id=None, score=None, decision="answer", outcome="suggested",
                    created_at=now,
                ))  # fmt: skip
                raise RuntimeError("a bug in the turn")

        with pytest.raises(RuntimeError):
            await failing_turn()
        (query,) = issued
        tx.save_conversation(conv, data={"kb_query_id": query})
        tx.deferred.update(KbQuery, query, outcome="accepted")
    async with chat.app.repo.transaction() as tx:
        logged = (await tx.session.execute(select(KbQuery))).scalars().all()
        conv, _ = await tx.conversation("test", "zed", user_id="zed", user_name="Zed", now=now)
    assert logged == [] and conv.data == {"kb_query_id": None}


async def test_ten_agents_claiming_at_once_read_their_cases_together(chat: Chat) -> None:
    await all_at_once(chat, ["I want to talk to a person"] * 10)
    desk, engine = chat.app.desk, chat.app.engine
    before = engine.inbound.batches
    with statements(chat.app.repo.engine) as seen:
        said = await asyncio.gather(*(desk.claim(n, f"Agent {n}") for n in range(1, 11)))
    batches = engine.inbound.batches - before
    assert said == [f"Case #{n} is yours." for n in range(1, 11)]
    assert batches < 10
    for written in (
        "SELECT cases.id, cases.conversation_id,",  # the batch's cases, locked together
        "SELECT conversations.id, conversations.customer_id,",  # with their conversations
        "UPDATE cases SET",  # the claims: one executemany
        "INSERT INTO case_events",
        "INSERT INTO messages",  # "Agent n has joined the conversation"
    ):
        assert 1 <= seen[written] <= batches, written
    async with chat.app.repo.transaction() as tx:
        owners = [(await tx.case(n)).assigned_agent for n in range(1, 11)]  # type: ignore[union-attr]
    assert owners == [f"Agent {n}" for n in range(1, 11)]


async def test_ten_agents_taps_at_once_are_recorded_by_one_statement(chat: Chat) -> None:
    """Each tap carries the platform's id, recorded so that a redelivered tap does
    nothing: one INSERT for the batch's ids, and a repeat in the same batch is caught."""
    await all_at_once(chat, ["I want to talk to a person"] * 10)
    desk, engine = chat.app.desk, chat.app.engine
    before = engine.inbound.batches
    with statements(chat.app.repo.engine) as seen:
        said = await asyncio.gather(
            *(desk.claim(n, f"Agent {n}", event_key=f"tap:{n}") for n in range(1, 11)),
            desk.claim(3, "Agent 3", event_key="tap:3"),  # the platform delivered it twice
        )
    batches = engine.inbound.batches - before
    assert sorted(said) == sorted(
        [f"Case #{n} is yours." for n in range(1, 11)] + ["Already done: claim on case #3."]
    )
    assert batches < 11 and 1 <= seen["INSERT INTO processed_events"] <= batches
    async with chat.app.repo.transaction() as tx:
        assert not await tx.first_time("tap:7", chat.clock())  # stored


async def test_ten_customers_talking_to_their_agents_at_once_read_their_cases_together(
    chat: Chat,
) -> None:
    """Each message is relayed to its case on the desk, which locks the case: the batch
    locks them all in one statement."""
    await all_at_once(chat, ["I want to talk to a person"] * 10)
    await asyncio.gather(*(chat.app.desk.claim(n, "Bob") for n in range(1, 11)))
    engine = chat.app.engine
    before = engine.inbound.batches
    with statements(chat.app.repo.engine) as seen:
        await asyncio.gather(*(
            engine.handle_message(said(u, "It is order A10001", "3")) for u in USERS
        ))  # fmt: skip
    batches = engine.inbound.batches - before
    assert batches < 10
    assert 1 <= seen["SELECT cases.id, cases.conversation_id,"] <= batches
    await engine.deliver()  # the desk's notices go out after the customers' replies
    relayed = [r for _, r in chat.desk_inbox.sent if r.extra.get("kind") == "customer_message"]
    assert len(relayed) == 10


async def test_contacts_that_change_in_different_ways_are_updated_by_one_statement(
    chat: Chat,
) -> None:
    """One contact gets its category, one is escalated, one ends, all in one batch: one
    UPDATE, in which each row changes only its own columns, and the outcome and the
    end, which keep their first value, keep it."""
    await all_at_once(chat, ["hi"] * 10)  # everyone has an open contact
    async with chat.app.repo.transaction() as tx:
        ids = list((await tx.session.execute(select(Contact.id).order_by(Contact.id))).scalars())
        await tx.session.execute(update(Contact).where(Contact.id == ids[3])
                                 .values(category="billing", outcome="bot_resolved"))  # fmt: skip
    earlier = datetime(2026, 11, 1, tzinfo=UTC)
    async with chat.app.repo.transaction() as tx:
        with statements(chat.app.repo.engine) as seen:
            tx.deferred.update(Contact, ids[0], category="shipping")
            tx.deferred.update(Contact, ids[1], outcome="escalated", case_id=None)
            tx.deferred.update(Contact, ids[2], ended_at=earlier)
            tx.deferred.update(Contact, ids[3], outcome="abandoned", ended_at=earlier)
            await tx.write_pending()
    assert seen["UPDATE contacts SET"] == 1
    async with chat.app.repo.transaction() as tx:
        rows = (await tx.session.execute(select(Contact).order_by(Contact.id))).scalars().all()
    got = [(c.category, c.outcome, c.ended_at is not None) for c in rows[:5]]
    assert got == [
        ("shipping", "open", False),
        (None, "escalated", False),
        (None, "open", True),
        ("billing", "bot_resolved", True),  # its first outcome stands
        (None, "open", False),  # untouched
    ]


async def test_a_batch_finds_its_conversations_and_customers_through_their_index(
    chat: Chat,
) -> None:
    """However many customers the bot has, a batch looks its chats up in the index of
    (channel, chat id) and (channel, user id): SQLite scanned both whole tables for a
    list of pairs, once per batch."""
    if chat.app.repo.engine.dialect.name != "sqlite":
        pytest.skip("SQLite's query planner")
    lookups: list[tuple[str, tuple[object, ...]]] = []

    def seen(conn: object, cursor: object, statement: str, params: object, *args: object) -> None:
        if statement.startswith("SELECT") and ("FROM conversations" in statement
                                               or "FROM identities" in statement):  # fmt: skip
            lookups.append((statement, tuple(params)))  # type: ignore[call-overload]

    engine = chat.app.repo.engine
    event.listen(engine.sync_engine, "before_cursor_execute", seen)
    try:
        await all_at_once(chat, ["where is my order"] * 10)  # first contacts, then known
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", seen)
    assert any("FROM identities" in s for s, _ in lookups)
    async with engine.connect() as conn:
        for statement, params in lookups:
            plan = (await conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", params)).all()
            steps = " | ".join(str(row[-1]) for row in plan)
            assert "SCAN conversations" not in steps and "SCAN identities" not in steps, steps
