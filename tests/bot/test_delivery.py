"""Delivery's "sent" marks: written in groups after a short wait for company, never
holding up a caller who asks for everything to be delivered."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import datetime

import pytest
from sqlalchemy import select

from bot import delivery
from bot.app import App, running_app
from bot.errors import ChannelError
from bot.messages import Message, Reply
from bot.settings import Settings
from bot.storage.models import OutboxItem
from bot.storage.repository import Tx
from tests.conftest import Clock, Recorder, statements


def hello(user: str) -> Message:
    return Message("test", user, user, "hi", message_id=f"{user}-1", user_name=user.title())


async def pending(app: App) -> int:
    async with app.repo.transaction() as tx:
        return len(await tx.pending_outbox(["test", "desk"]))


async def test_greetings_sent_to_many_customers_are_marked_sent_together(
    settings: Settings, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(delivery, "MARK_LINGER", 2.0)  # a slow machine is not a failure
    async with running_app(settings, senders={"test": Recorder()}, now=clock) as app:
        with statements(app.repo.engine) as seen:
            # one after another, as a quiet day's customers would write
            for n in range(10):
                await app.engine.handle_message(hello(f"user{n}"))
            await app.engine.deliver()  # all of it: the marks are written now
            assert await pending(app) == 0
        assert seen["UPDATE outbox SET"] == 1  # the marks: no delivery failed


async def test_delivering_everything_does_not_wait_for_the_marks_company(
    settings: Settings, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(delivery, "MARK_LINGER", 30.0)
    async with running_app(settings, senders={"test": Recorder()}, now=clock) as app:
        await app.engine.handle_message(hello("anna"))
        await asyncio.wait_for(app.engine.deliver(), 5)
        assert await pending(app) == 0


async def test_marks_ride_along_with_a_transaction_under_way(
    settings: Settings, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(delivery, "MARK_LINGER", 0.02)
    async with running_app(settings, senders={"test": Recorder()}, now=clock) as app:
        await app.engine.handle_message(hello("anna"))  # the greeting is sent: a mark waits
        with statements(app.repo.engine) as seen:
            async with app.repo.transaction() as tx:  # e.g. the next customers' batch
                await asyncio.sleep(0.2)  # the mark is due, and waits for this transaction
                assert seen["UPDATE outbox SET"] == 0  # no transaction of its own meanwhile
                assert len(await tx.pending_outbox(["test"])) == 1
            assert seen["UPDATE outbox SET"] == 1  # written by this transaction, at its end
        assert await pending(app) == 0


async def test_marks_of_a_transaction_rolled_back_wait_for_the_next_one(
    settings: Settings, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    class Failing:
        async def ride(self, tx: Tx) -> None:
            raise RuntimeError("the transaction fails after the marks joined it")

    monkeypatch.setattr(delivery, "MARK_LINGER", 0.02)
    async with running_app(settings, senders={"test": Recorder()}, now=clock) as app:
        await app.engine.handle_message(hello("anna"))
        app.repo.riders.append(Failing())
        with statements(app.repo.engine) as seen, pytest.raises(RuntimeError):
            async with app.repo.transaction():
                await asyncio.sleep(0.2)
        app.repo.riders.pop()
        assert seen["UPDATE outbox SET"] == 1  # the mark joined the transaction...
        assert await pending(app) == 1  # ...and was rolled back with it
        await app.engine.deliver()  # everything: the kept mark is written now
        assert await pending(app) == 0


async def test_what_a_sender_made_is_stored_with_the_sent_mark_even_after_a_rollback(
    settings: Settings, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A sender's ``AfterSent`` (a desk's new topic, say) is written in the transaction
    that marks its message sent; rolled back with it, both wait for the next one."""

    class Placing(Recorder):
        async def send(self, address: str, reply: Reply) -> delivery.AfterSent:
            await super().send(address, reply)

            async def record(tx: Tx, now: datetime) -> None:
                await tx.first_time(f"placed:{address}", now)  # one INSERT, at once

            return record

    class FailingOnce:
        failed = False

        async def ride(self, tx: Tx) -> None:
            if not self.failed:
                self.failed = True
                raise RuntimeError("the transaction fails after the marks joined it")

    monkeypatch.setattr(delivery, "MARK_LINGER", 0.02)
    async with running_app(settings, senders={"test": Placing()}, now=clock) as app:
        await app.engine.handle_message(hello("anna"))
        app.repo.riders.append(FailingOnce())
        with statements(app.repo.engine) as seen:
            with pytest.raises(RuntimeError):
                async with app.repo.transaction():
                    await asyncio.sleep(0.2)  # the mark and its record join this one
            assert seen["UPDATE outbox SET"] == 1 and seen["INSERT INTO processed_events"] == 1
            await app.engine.deliver()  # everything: the kept mark is written now
        # rolled back together, then written together
        assert seen["UPDATE outbox SET"] == 2 and seen["INSERT INTO processed_events"] == 2
        assert await pending(app) == 0
        async with app.repo.transaction() as tx:
            assert not await tx.first_time("placed:anna", clock())  # stored


async def test_a_senders_unexpected_error_keeps_the_message_pending_and_logs_it(
    settings: Settings, clock: Clock, caplog: pytest.LogCaptureFixture
) -> None:
    class Buggy(Recorder):
        """Fails once for Anna with an error no channel should raise (a bug in a sender)."""

        failed_once = False

        async def send(self, address: str, reply: Reply) -> None:
            if address == "anna" and not self.failed_once:
                self.failed_once = True
                raise ZeroDivisionError("float division by zero")
            await super().send(address, reply)

    sender = Buggy()
    async with running_app(settings, senders={"test": sender}, now=clock) as app:
        await app.engine.handle_message(hello("anna"))
        await app.engine.handle_message(hello("bob"))  # another chat is not held up
        assert [address for address, _ in sender.sent] == ["bob"]
        assert "outbox 1 to test: unexpected error" in caplog.text
        assert "ZeroDivisionError" in caplog.text  # with its traceback, for whoever fixes it
        await app.engine.deliver()  # the next pass retries Anna's greeting
        assert sorted(address for address, _ in sender.sent) == ["anna", "bob"]
        assert await pending(app) == 0


async def test_a_row_committed_late_with_a_smaller_id_is_sent_once_and_none_is_skipped(
    settings: Settings, clock: Clock
) -> None:
    """Workers and the receiving process write to the outbox at once: an id is taken
    when a row is inserted, so a row can commit after a bigger id of another process was
    queued, and a pass finds it while that one is being sent. Both go, each once."""

    class Overtaken(Recorder):
        async def send(self, address: str, reply: Reply) -> None:
            await super().send(address, reply)
            if len(self.sent) == 1:  # meanwhile a pass finds the other process's row
                outbox.enqueue([late])
            await asyncio.sleep(0)

    async with running_app(settings, now=clock) as app:
        async with app.repo.transaction() as tx:
            for number, text in ((10, "written first, committed last"), (20, "committed first")):
                tx.session.add(OutboxItem(id=number, channel="relay", address="anna",
                                          payload=Reply(text).to_json(), status="pending",
                                          attempts=0, created_at=clock()))  # fmt: skip
        async with app.repo.transaction() as tx:
            late, first = await tx.pending_outbox(["relay"])
        sender = Overtaken()
        outbox = delivery.Outbox(app.repo, {"relay": sender}, clock)
        outbox.enqueue([first])
        await outbox.deliver_queued()
        await outbox.deliver()  # a later pass: anything still pending goes now
        assert [reply.text for _, reply in sender.sent] == [
            "committed first", "written first, committed last"
        ]  # fmt: skip
        async with app.repo.transaction() as tx:
            assert await tx.pending_outbox(["relay"]) == []
        await outbox.close()


@dataclass
class Unanswered(Recorder):
    """Every send to Anna goes out but its answer never comes (``DeliveryUncertain``):
    the customer may well have seen it, so ``shown`` counts it as shown."""

    shown: list[str] = field(default_factory=list)

    async def send(self, address: str, reply: Reply) -> None:
        if address == "anna":
            self.shown.append(reply.text)
            raise delivery.DeliveryUncertain("telegram chat anna: request timeout")
        await super().send(address, reply)


async def outbox_rows(app: App) -> list[tuple[str, str, int]]:
    async with app.repo.transaction() as tx:
        stmt = select(OutboxItem.address, OutboxItem.status, OutboxItem.attempts)
        return [tuple(row) for row in await tx.session.execute(stmt.order_by(OutboxItem.id))]


async def test_a_send_of_unknown_outcome_is_tried_once_more_then_given_up(
    settings: Settings, clock: Clock, caplog: pytest.LogCaptureFixture
) -> None:
    sender = Unanswered()
    async with running_app(settings, senders={"test": sender}, now=clock) as app:
        await app.engine.handle_message(hello("anna"))
        await app.engine.deliver()  # the retry, at once
        await app.engine.deliver()  # nothing more for Anna
        await app.engine.handle_message(hello("bob"))
        await app.engine.deliver()  # and Bob's "sent" mark written

        assert len(sender.shown) == 2  # the first try and one more, never a third
        assert [address for address, _ in sender.sent] == ["bob"]
        assert await outbox_rows(app) == [("anna", "uncertain", 2), ("bob", "sent", 0)]
        assert "delivery uncertain twice, not sent again" in caplog.text

        # Anna's chat is not blocked: her next reply is tried like any other.
        sender.shown.clear()
        await app.engine.handle_message(
            Message("test", "anna", "anna", "where is my order", message_id="anna-2")
        )
        assert len(sender.shown) == 1


async def test_a_send_uncertain_before_a_restart_is_not_tried_a_third_time(
    settings: Settings, clock: Clock
) -> None:
    sender = Unanswered()
    async with running_app(settings, senders={"test": sender}, now=clock) as app:
        await app.engine.handle_message(hello("anna"))  # first try: outcome unknown
        # ... and the process stops before its retry.
    assert len(sender.shown) == 1

    async with running_app(settings, senders={"test": sender}, now=clock) as app:
        await app.engine.deliver()  # the one more try, from what the database says
        await app.engine.deliver()
        assert len(sender.shown) == 2
        assert await outbox_rows(app) == [("anna", "uncertain", 2)]


async def test_an_uncertain_send_that_then_goes_through_is_sent(
    settings: Settings, clock: Clock
) -> None:
    class OnceUnanswered(Recorder):
        tries = 0

        async def send(self, address: str, reply: Reply) -> None:
            self.tries += 1
            if self.tries == 1:
                raise delivery.DeliveryUncertain("connection closed under the request")
            await super().send(address, reply)

    sender = OnceUnanswered()
    async with running_app(settings, senders={"test": sender}, now=clock) as app:
        await app.engine.handle_message(hello("anna"))
        await app.engine.deliver()  # the retry, and its "sent" mark
        assert [address for address, _ in sender.sent] == ["anna"]
        assert await outbox_rows(app) == [("anna", "sent", 1)]


async def test_a_desk_notice_of_unknown_outcome_is_retried_until_it_goes(
    settings: Settings, clock: Clock
) -> None:
    """Agents must hear of every case: a second card beats a case nobody was told of."""

    @dataclass
    class SlowDesk(Recorder):
        unanswered: int = 3  # tries that go out with no answer

        async def send(self, address: str, reply: Reply) -> None:
            if self.unanswered:
                self.unanswered -= 1
                raise delivery.DeliveryUncertain("desk: request timeout")
            await super().send(address, reply)

    desk = SlowDesk()
    async with running_app(settings, senders={"test": Recorder(), "desk": desk}, now=clock) as app:
        await app.engine.handle_message(hello("anna"))
        await app.engine.handle_message(
            Message("test", "anna", "anna", "I want to talk to a human", message_id="anna-2")
        )
        for _ in range(3):
            await app.engine.deliver()
            app.engine.outbox._not_before.clear()  # no backoff waits in a test
        await app.engine.deliver()
        assert desk.unanswered == 0 and len(desk.sent) >= 1
        assert all(status == "sent" for _, status, _ in await outbox_rows(app))


async def test_a_plain_failure_after_an_uncertain_try_does_not_earn_a_third_try(
    settings: Settings, clock: Clock
) -> None:
    """No answer, then "channel down", then a restart: the one more try is used up."""

    @dataclass
    class Flaky(Recorder):
        tries: list[str] = field(default_factory=list)

        async def send(self, address: str, reply: Reply) -> None:
            self.tries.append(address)
            if len(self.tries) == 1:
                raise delivery.DeliveryUncertain("request timeout")
            if len(self.tries) == 2:
                raise ChannelError("channel down")
            raise delivery.DeliveryUncertain("request timeout")

    sender = Flaky()
    async with running_app(settings, senders={"test": sender}, now=clock) as app:
        await app.engine.handle_message(hello("anna"))  # no answer
        await app.engine.deliver()  # refused: nothing was shown
    async with running_app(settings, senders={"test": sender}, now=clock) as app:
        await app.engine.deliver()  # no answer again: given up
        await app.engine.deliver()
        assert len(sender.tries) == 3
        assert await outbox_rows(app) == [("anna", "uncertain", 3)]
