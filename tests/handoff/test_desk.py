"""Agents taking over escalated cases from the local desk."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from bot.app import running_app
from bot.errors import CaseAlreadyClaimed, CaseNotFound, CaseNotOpen, HandoffError, NotCaseOwner
from bot.messages import Message
from bot.settings import Settings
from bot.storage.models import MessageRecord
from tests.conftest import Chat, Clock, Recorder, joined


async def escalated(chat: Chat) -> int:
    await chat.say("hi")
    await chat.say("I want to talk to a human about my order")
    (await chat.desk())
    return 1


async def test_claim_reply_note_resolve_and_csat(chat: Chat) -> None:
    number = await escalated(chat)
    desk = chat.app.desk

    assert await desk.claim(number, "Bob") == "Case #1 is yours."
    assert (await chat.replies())[
        0
    ].text == "Bob from our support team has joined the conversation."

    chat.clock.advance(minutes=3)
    await desk.reply(number, "Bob", "Hi Anna, which order is it?")
    reply = (await chat.replies())[0]
    assert (reply.sender, reply.author, reply.text) == (
        "agent",
        "Bob",
        "Hi Anna, which order is it?",
    )

    assert await chat.say("Order A10001, the blue one") == []  # the bot stays silent
    assert (await chat.desk()) == [
        "Case #1 claimed by Bob.",
        "Case #1 · Anna: Order A10001, the blue one",
    ]

    await desk.note(number, "Bob", "Customer is a VIP; be generous")
    assert (await chat.replies()) == []  # notes never reach the customer

    chat.clock.advance(minutes=5)
    await desk.resolve(number, "Bob", "Replacement shipped")
    replies = await chat.replies()
    assert replies[0].text == "Bob has marked your case #1 as resolved: Replacement shipped."
    assert "rate the help" in replies[-1].text
    assert (await chat.desk()) == ["Case #1 resolved by Bob."]

    await chat.press("4")
    await chat.press("No, thanks")
    async with chat.app.repo.transaction() as tx:
        case = await tx.case(number)
        events = [e.kind for e in await tx.case_events(number)]
        messages = await tx.case_messages(number)
    assert case is not None
    assert case.status == "closed"
    assert case.assigned_agent == "Bob"
    assert case.claimed_at is not None
    assert case.first_response_at == case.claimed_at + timedelta(minutes=3)
    assert case.resolved_at is not None and case.closed_at is not None
    assert case.resolution == "Replacement shipped"
    assert events == ["opened", "claimed", "replied", "note", "resolved", "rated", "closed"]
    notes = [m for m in messages if m.internal]
    assert [n.text for n in notes] == ["Customer is a VIP; be generous"]
    show = await desk.show(number)
    assert "[internal note]: Customer is a VIP" in show


async def test_a_redelivered_agent_event_is_applied_once(chat: Chat) -> None:
    number = await escalated(chat)
    desk = chat.app.desk
    await desk.reply(number, "Bob", "Hello", event_key="slack:Ev1")
    assert await desk.reply(number, "Bob", "Hello", event_key="slack:Ev1") == (
        "Already done: reply on case #1."
    )
    assert [r.text for r in (await chat.replies())] == ["Hello"]


async def test_an_agent_reply_carries_channel_extras_to_the_customer(chat: Chat) -> None:
    number = await escalated(chat)
    source = {"channel": "test", "chat_id": "agents", "message_id": "55"}
    await chat.app.desk.reply(number, "Bob", "", extra={"source": source})
    reply = (await chat.replies())[0]
    assert (reply.author, reply.extra) == ("Bob", {"source": source})


async def test_reply_to_an_unclaimed_case_claims_it(chat: Chat) -> None:
    number = await escalated(chat)
    await chat.app.desk.reply(number, "Carol", "Hello, Carol here")
    assert [r.text for r in (await chat.replies())] == ["Hello, Carol here"]
    cases = await chat.app.desk.cases()
    assert (cases[0].agent, cases[0].status) == ("Carol", "assigned")


async def test_two_agents_claim_at_once_one_wins(chat: Chat) -> None:
    number = await escalated(chat)
    results = await asyncio.gather(
        chat.app.desk.claim(number, "Bob"),
        chat.app.desk.claim(number, "Carol"),
        return_exceptions=True,
    )
    winners = [r for r in results if isinstance(r, str)]
    losers = [r for r in results if isinstance(r, CaseAlreadyClaimed)]
    assert len(winners) == 1 and len(losers) == 1
    winner = "Bob" if results[0] == winners[0] else "Carol"
    assert str(losers[0]) == f"Case #1 is already claimed by {winner}."
    assert joined(await chat.replies()).count("has joined") == 1


async def test_two_processes_claim_at_once_one_wins(
    chat: Chat, settings: Settings, clock: Clock
) -> None:
    """Two separate apps on one database: the database, not a process lock, decides."""
    number = await escalated(chat)
    async with running_app(settings, now=clock) as other:
        results = await asyncio.gather(
            chat.app.desk.claim(number, "Bob"),
            other.desk.claim(number, "Carol"),
            return_exceptions=True,
        )
    assert sorted(type(r).__name__ for r in results) == ["CaseAlreadyClaimed", "str"]


async def test_two_processes_on_one_database_share_dedupe_claims_and_relays(
    settings: Settings, clock: Clock
) -> None:
    """As several workers would: a redelivery to the other process is dropped, one claim
    wins, and the winner's reply reaches the customer through the first process."""
    channel = Recorder()

    def said(text: str, message_id: str) -> Message:
        return Message("test", "anna", "anna", text, message_id=message_id, user_name="Anna")

    async with (
        running_app(settings, senders={"test": channel}, now=clock) as one,
        running_app(settings, now=clock) as two,
    ):
        assert await one.engine.handle_message(said("hi", "1"))
        assert not await two.engine.handle_message(said("hi", "1"))  # redelivered elsewhere
        await one.engine.handle_message(said("I need a human", "2"))
        assert "opened case #1" in channel.sent[-1][1].text

        results = await asyncio.gather(
            one.desk.claim(1, "Bob"), two.desk.claim(1, "Carol"), return_exceptions=True
        )
        assert sorted(type(r).__name__ for r in results) == ["CaseAlreadyClaimed", "str"]
        owner, app = ("Bob", one) if isinstance(results[0], str) else ("Carol", two)
        await app.desk.reply(1, owner, "Hello from the desk")
        await one.engine.deliver()
        assert channel.sent[-1][1].text == "Hello from the desk"
        await app.desk.resolve(1, owner, "done")
        await one.engine.handle_message(said("5", "3"))
        assert "add a comment" in channel.sent[-1][1].text


async def test_one_message_reaching_two_processes_at_once_is_processed_once(
    settings: Settings, clock: Clock
) -> None:
    """A platform redelivers while the first delivery is still being processed elsewhere:
    both processes look for the message before either has stored it. The database's
    unique key lets one in; the other, tried again, finds a repeat and does nothing."""
    first, second = Recorder(), Recorder()
    async with (
        running_app(settings, senders={"test": first}, now=clock) as one,
        running_app(settings, senders={"test": second}, now=clock) as two,
    ):
        for n in range(20):
            msg = Message("test", f"c{n}", f"c{n}", "hi", message_id="1", user_name="Kim")
            done = await asyncio.gather(one.engine.handle_message(msg),
                                        two.engine.handle_message(msg))  # fmt: skip
            assert sorted(done) == [False, True]
        async with one.repo.transaction() as tx:
            stored = await tx.session.scalar(
                select(func.count()).select_from(MessageRecord).where(
                    MessageRecord.direction == "in")
            )  # fmt: skip
    assert stored == 20
    greeted = sorted(chat for chat, reply in [*first.sent, *second.sent] if "Hello" in reply.text)
    assert greeted == sorted(f"c{n}" for n in range(20))  # each once


async def test_only_the_owner_replies_or_resolves(chat: Chat) -> None:
    number = await escalated(chat)
    await chat.app.desk.claim(number, "Bob")
    with pytest.raises(NotCaseOwner, match="claimed by Bob"):
        await chat.app.desk.reply(number, "Carol", "hi")
    with pytest.raises(NotCaseOwner):
        await chat.app.desk.resolve(number, "Carol")
    # but any agent can leave an internal note
    await chat.app.desk.note(number, "Carol", "I know this customer")


async def test_bad_agent_input_is_refused_clearly(chat: Chat) -> None:
    number = await escalated(chat)
    desk = chat.app.desk
    with pytest.raises(CaseNotFound, match="There is no case #99"):
        await desk.claim(99, "Bob")
    with pytest.raises(HandoffError, match="empty"):
        await desk.reply(number, "Bob", "   ")
    with pytest.raises(HandoffError, match="agent name"):
        await desk.claim(number, "  ")
    with pytest.raises(HandoffError, match="longer than"):
        await desk.reply(number, "Bob", "x" * 20_001)
    await desk.resolve(number, "Bob")
    with pytest.raises(CaseNotOpen, match="resolved"):
        await desk.reply(number, "Bob", "one more thing")


async def test_customer_messages_while_waiting_reach_the_desk_in_order(chat: Chat) -> None:
    await escalated(chat)
    for text in ["first", "second", "third"]:
        await chat.say(text)
    assert (await chat.desk()) == [
        "Case #1 · Anna: first",
        "Case #1 · Anna: second",
        "Case #1 · Anna: third",
    ]
    assert (await chat.replies()) == []


async def test_case_card_carries_what_the_agent_needs(chat: Chat) -> None:
    await chat.say("hi")
    await chat.say("I was charged twice")
    await chat.say("anna@example.com")
    await chat.say("A10001")
    await chat.say("/human")
    card = (await chat.desk())[0]
    assert card.startswith("New case #1 [normal] billing")
    assert "identity verified (anna@example.com)" in card
    assert "Articles tried: charged-twice" in card
    assert "Question: I was charged twice" in card
    assert "customer: A10001" in card


async def test_agents_replies_share_transactions_with_customers_messages(chat: Chat) -> None:
    """Desk actions go through the group commit like customers' messages: under load an
    agent's reply is written with whatever else arrived meanwhile."""
    customers = [f"user{i}" for i in range(6)]
    for user in customers:
        chat.user = user
        await chat.say("hi")
        await chat.say("I want to talk to a human about my order")
    inbound = chat.app.engine.inbound
    before = (inbound.batches, inbound.items)
    answered = await asyncio.gather(
        *(chat.app.desk.reply(n, "Bob", f"Hello, this is Bob about case {n}") for n in range(1, 7)),
        *(chat.app.engine.handle_message(Message("test", f"new{i}", f"new{i}", "hi",
                                                 message_id="1", user_name=f"New{i}"))
          for i in range(6)),
    )  # fmt: skip
    assert answered[:6] == [f"Reply sent to the customer of case #{n}." for n in range(1, 7)]
    batches, items = inbound.batches - before[0], inbound.items - before[1]
    assert items == 12 and batches < 12
    for n, user in enumerate(customers, start=1):
        assert any(
            address == user and f"about case {n}" in r.text for address, r in chat.customer.sent
        )


async def test_a_refused_desk_action_leaves_its_batch_to_the_others(chat: Chat) -> None:
    """An agent taps Resolve on a case that is already resolved while customers write:
    the agent is told, and every customer's message in that batch is still answered."""
    number = await escalated(chat)
    await chat.app.desk.resolve(number, "Bob")
    writers = [f"user{i}" for i in range(8)]
    inbound = chat.app.engine.inbound
    before = (inbound.batches, inbound.items)
    results = await asyncio.gather(
        chat.app.desk.resolve(number, "Bob"),
        *(chat.app.engine.handle_message(Message("test", u, u, "hi", message_id="1",
                                                 user_name=u.title())) for u in writers),
        return_exceptions=True,
    )  # fmt: skip
    assert isinstance(results[0], CaseNotOpen)
    assert results[1:] == [True] * len(writers)
    assert inbound.items - before[1] == 9 and inbound.batches - before[0] < 9  # shared
    greeted = {address for address, reply in chat.customer.sent if "User" in reply.text}
    assert greeted == set(writers)
