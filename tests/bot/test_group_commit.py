"""Group commit: many customers at once share transactions; one customer alone does not
wait for company; a message that fails does not take its batch down with it."""

from __future__ import annotations

import asyncio

import pytest

from bot.engine import Engine
from bot.group_commit import GroupCommit
from bot.messages import Message
from bot.settings import Settings
from tests.conftest import Chat, Clock


def said(user: str, text: str, message_id: str) -> Message:
    return Message("test", user, user, text, message_id=message_id, user_name=user.title())


async def test_a_customer_alone_is_committed_at_once(chat: Chat) -> None:
    replies = await chat.say("hi")
    assert "Anna" in replies[0].text
    assert (chat.app.engine.inbound.batches, chat.app.engine.inbound.items) == (1, 1)


async def test_customers_writing_at_once_share_transactions(chat: Chat) -> None:
    engine = chat.app.engine
    users = [f"user{i}" for i in range(40)]
    accepted = await asyncio.gather(*(engine.handle_message(said(u, "hi", "1")) for u in users))
    assert all(accepted)
    assert engine.inbound.items == 40
    assert engine.inbound.batches < 40  # the first goes alone, the rest wait for its commit
    greeted = {address for address, reply in chat.customer.sent if "User" in reply.text}
    assert greeted == set(users)


async def test_a_batch_of_one_commits_each_message_alone(settings: Settings, clock: Clock) -> None:
    """``commit_batch = 1``: one transaction per message, as before group commit (the
    bench compares the two this way)."""
    from tests.conftest import open_chat

    async with open_chat(settings.model_copy(update={"commit_batch": 1}), clock) as chat:
        engine = chat.app.engine
        users = [f"user{i}" for i in range(10)]
        await asyncio.gather(*(engine.handle_message(said(u, "hi", "1")) for u in users))
        assert (engine.inbound.batches, engine.inbound.items) == (10, 10)
        greeted = {address for address, reply in chat.customer.sent if "User" in reply.text}
        assert greeted == set(users)


async def test_one_customers_messages_in_one_batch_keep_their_order(chat: Chat) -> None:
    engine = chat.app.engine
    await chat.say("hi")
    lines = ["How do I reset my password?", "no", "How do I return an item?"]
    await asyncio.gather(
        *(engine.handle_message(said("anna", t, f"m{i}")) for i, t in enumerate(lines))
    )
    async with chat.app.repo.transaction() as tx:
        stored = [m.text for m in await tx.messages(1, 100) if m.direction == "in"]
    assert stored == ["hi", *lines]


async def test_a_redelivered_message_in_the_same_batch_is_processed_once(chat: Chat) -> None:
    engine = chat.app.engine
    await chat.say("hi")
    twice = said("anna", "How do I reset my password?", "42")
    first, second = await asyncio.gather(engine.handle_message(twice), engine.handle_message(twice))
    assert sorted([first, second]) == [False, True]
    assert await chat.replies()  # answered, once
    async with chat.app.repo.transaction() as tx:
        stored = [m.text for m in await tx.messages(1, 100) if m.direction == "in"]
    assert stored == ["hi", "How do I reset my password?"]


async def test_a_failing_message_does_not_sink_the_others(
    chat: Chat, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A bug in one customer's turn (simulated) fails that customer's message alone: the
    batch is replayed one by one, the others are answered, and nothing of the failed
    message is stored, so the platform's retry can succeed later."""
    engine = chat.app.engine
    understand = Engine._understand

    async def fragile(self: Engine, turn, msg, state, text, conversation):  # type: ignore[no-untyped-def]
        if text == "boom":
            raise RuntimeError("a bug")
        return await understand(self, turn, msg, state, text, conversation)

    monkeypatch.setattr(Engine, "_understand", fragile)
    results = await asyncio.gather(
        *(engine.handle_message(said(f"user{i}", "boom" if i == 3 else "hi", "1"))
          for i in range(8)),
        return_exceptions=True,
    )  # fmt: skip
    assert isinstance(results[3], RuntimeError)
    assert [r for i, r in enumerate(results) if i != 3] == [True] * 7
    monkeypatch.setattr(Engine, "_understand", understand)
    assert await engine.handle_message(said("user3", "boom", "1")) is True  # the retry


async def test_a_caller_that_gives_up_does_not_lose_its_message() -> None:
    done: list[int] = []
    gate = asyncio.Event()

    async def process(items: list[int]) -> list[int | BaseException]:
        await gate.wait()
        done.extend(items)
        return items

    commits: GroupCommit[int, int] = GroupCommit(process)
    first = asyncio.create_task(commits.submit(1))
    second = asyncio.create_task(commits.submit(2))
    await asyncio.sleep(0)
    second.cancel()  # e.g. a webhook request that timed out
    gate.set()
    assert await first == 1
    await asyncio.sleep(0.01)
    assert done == [1, 2]
    await commits.close()


async def test_closing_in_the_middle_of_a_batch_leaves_nobody_waiting() -> None:
    """Whoever submitted an item of the batch being written when the engine stops gets
    a ``CancelledError`` (the item may or may not be durable), never an endless wait."""
    started = asyncio.Event()

    async def slow(items: list[int]) -> list[int | BaseException]:
        started.set()
        await asyncio.sleep(3600)
        return list(items)

    commits: GroupCommit[int, int] = GroupCommit(slow)
    waiting = asyncio.create_task(commits.submit(1))
    await started.wait()
    await commits.close()
    with pytest.raises(asyncio.CancelledError):
        await asyncio.wait_for(waiting, timeout=5)
