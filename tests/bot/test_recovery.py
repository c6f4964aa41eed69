"""Crashes and outages lose nothing and send nothing twice."""

from __future__ import annotations

import asyncio

import pytest

from bot.app import running_app
from bot.delivery import RetryLater
from bot.messages import Message, Reply
from bot.settings import Settings
from bot.verification import VerificationResult
from tests.conftest import Clock, Recorder


def hello(text: str, message_id: str | None = None) -> Message:
    return Message("test", "anna", "anna", text, message_id=message_id, user_name="Anna")


async def test_unsent_outbox_is_delivered_once_by_the_next_process(
    settings: Settings, clock: Clock
) -> None:
    down = Recorder(fail=True)
    async with running_app(settings, senders={"test": down}, now=clock) as app:
        await app.engine.handle_message(hello("hi"))
        await app.engine.handle_message(hello("How do I exchange an item?"))
        assert down.sent == []  # the channel was down: nothing went out...
        async with app.repo.transaction() as tx:
            pending = await tx.pending_outbox(["test"])
            # a delivery pass reads only the rows it is not sending already
            fresh = await tx.pending_outbox(["test"], known={pending[0].id})
            none = await tx.pending_outbox(["test"], known={item.id for item in pending})
        assert len(pending) == 2  # ...but everything is waiting, in order
        assert [item.id for item in fresh] == [pending[1].id]
        assert none == []

    # the process "crashed"; a new one starts on the same database
    up = Recorder()
    async with running_app(settings, senders={"test": up}, now=clock) as app:
        await app.engine.deliver()
        await app.engine.deliver()
        texts = [r.text for _, r in up.sent]
        assert len(texts) == 2
        assert texts[0].startswith("Hello Anna")
        assert "Did this solve your issue?" in texts[1]
        # and the conversation carries on where it was
        await app.engine.handle_message(hello("yes"))
        assert "glad that helped" in up.sent[2][1].text


async def test_a_failed_delivery_blocks_later_messages_to_the_same_customer(
    settings: Settings, clock: Clock
) -> None:
    channel = Recorder(fail=True)
    async with running_app(settings, senders={"test": channel}, now=clock) as app:
        await app.engine.handle_message(hello("hi"))
        channel.fail = False
        await app.engine.handle_message(hello("where is my parcel?"))
        texts = [r.text for _, r in channel.sent]
        assert texts[0].startswith("Hello Anna")  # the older message first, not skipped
        assert len(texts) == 2


class ExplodingVerifier:
    async def verify(self, email: str, order_number: str) -> VerificationResult:
        raise RuntimeError("order system crashed mid-turn")


async def test_a_crash_inside_a_turn_records_nothing_so_a_redelivery_is_processed(
    settings: Settings, clock: Clock
) -> None:
    channel = Recorder()
    async with running_app(settings, senders={"test": channel}, now=clock) as app:
        await app.engine.handle_message(hello("I was charged twice", "m1"))
        await app.engine.handle_message(hello("anna@example.com", "m2"))
        real = app.engine.ctx.verifier
        app.engine.ctx.verifier = ExplodingVerifier()
        with pytest.raises(RuntimeError):
            await app.engine.handle_message(hello("A10001", "m3"))
        app.engine.ctx.verifier = real
        sent_before = len(channel.sent)
        assert await app.engine.handle_message(hello("A10001", "m3")) is True  # not a "duplicate"
        assert "verified" in channel.sent[sent_before][1].text
        assert await app.engine.handle_message(hello("A10001", "m3")) is False  # now it is


async def test_messages_of_one_chat_are_handled_in_arrival_order(
    settings: Settings, clock: Clock
) -> None:
    channel = Recorder()
    async with running_app(settings, senders={"test": channel}, now=clock) as app:
        await app.engine.handle_message(hello("/human"))
        await asyncio.gather(*(app.engine.handle_message(hello(f"msg {i}")) for i in range(10)))
        async with app.repo.transaction() as tx:
            stored = [m.text for m in await tx.messages(1, 100) if m.direction == "in"]
    assert stored[1:] == [f"msg {i}" for i in range(10)]


class SlowChannel(Recorder):
    """Holds messages to one customer (as a 429 wait would) while others flow."""

    def __init__(self) -> None:
        super().__init__()
        self.gate = asyncio.Event()
        self.fast_sent = asyncio.Event()

    async def send(self, address: str, reply: Reply) -> None:
        if address == "slow":
            await self.gate.wait()
        await super().send(address, reply)
        if address == "fast":
            self.fast_sent.set()


async def test_one_slow_customer_does_not_hold_up_the_others(
    settings: Settings, clock: Clock
) -> None:
    channel = SlowChannel()
    async with running_app(settings, senders={"test": channel}, now=clock) as app:
        slow = asyncio.create_task(app.engine.handle_message(Message("test", "slow", "slow", "hi")))
        try:
            await app.engine.handle_message(Message("test", "fast", "fast", "hi"))
            await asyncio.wait_for(channel.fast_sent.wait(), timeout=10)
            assert [a for a, _ in channel.sent] == ["fast"]  # the slow one is still held
        finally:
            channel.gate.set()
            await slow
        await app.engine.deliver()
        assert sorted(a for a, _ in channel.sent) == ["fast", "slow"]


class RateLimited(Recorder):
    async def send(self, address: str, reply: Reply) -> None:
        if not self.sent and not self.fail:
            self.fail = True
            raise RetryLater(30, "429 Too Many Requests")
        await super().send(address, reply)


async def test_a_retry_later_keeps_the_message_and_waits_as_asked(
    settings: Settings, clock: Clock
) -> None:
    channel = RateLimited()
    async with running_app(settings, senders={"test": channel}, now=clock) as app:
        await app.engine.handle_message(hello("hi"))
        assert channel.sent == []
        await app.engine.deliver()
        assert channel.sent == []  # still inside the 30 s the channel asked for
        async with app.repo.transaction() as tx:
            (pending,) = await tx.pending_outbox(["test"])
        assert (pending.attempts, pending.last_error) == (1, "429 Too Many Requests; retry in 30s")
