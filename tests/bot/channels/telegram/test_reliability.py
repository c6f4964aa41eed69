"""Nothing lost, nothing twice, nothing out of order: redeliveries, 429 storms, restarts."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import func, select

from bot.channels.telegram.limits import Limiter, Limits
from bot.channels.telegram.runtime import telegram_runtime
from bot.channels.telegram.settings import TelegramSettings
from bot.dialogue.texts import SEND_AGAIN
from bot.errors import ChannelError
from bot.messages import Message
from bot.settings import Settings
from bot.storage.models import Case, MessageRecord, OutboxItem
from tests.bot.channels.telegram.conftest import Bench, BotProcess
from tests.bot.channels.telegram.fake_api import FakeTelegram
from tests.bot.channels.telegram.fake_world import GROUP_ID


async def count_inbound(tg: Bench, text: str) -> int:
    async with tg.bot.runtime.app.repo.transaction() as tx:
        stmt = select(func.count()).where(
            MessageRecord.direction == "in", MessageRecord.text == text
        )
        return int((await tx.session.execute(stmt)).scalar_one())


async def test_an_update_delivered_twice_is_processed_once(tg: Bench) -> None:
    anna = tg.customer("Anna", 111)
    bob = tg.agent("Bob", 501)
    assert len(await anna.says("hi")) == 1
    await anna.says("Can I talk to a human, please?")
    await bob.taps(1, "Claim")
    await bob.says(1, "Hello Anna")
    anna.news()

    # Telegram sends every update of this conversation again.
    delivered = list(tg.fake.delivered.values())
    for update in delivered:
        tg.fake.push(update, force=True)
    await tg.bot.settle(*delivered, times=2)

    assert anna.news() == []  # no second greeting, no second "Hello Anna"
    assert await count_inbound(tg, "hi") == 1
    async with tg.bot.runtime.app.repo.transaction() as tx:
        cases = (await tx.session.execute(select(func.count()).select_from(Case))).scalar_one()
    assert cases == 1
    assert len(tg.fake.world.topics) == 1


async def test_a_reply_slow_to_go_out_holds_up_no_other_customer(tg: Bench) -> None:
    """Telegram answers the bot's message to Anna only after 3 s (a slow API, or a
    reply paced at one message a second per chat). Ben, writing meanwhile, is answered
    at once: receiving waits for Anna's message to be committed, not for her reply to be
    sent (the outbox's delivery loop sends it, beside receiving)."""
    anna, ben = tg.customer("Anna", 111), tg.customer("Ben", 222)
    tg.fake.answer_late("sendMessage", chat_id=111, seconds=3.0)

    def sent_to(chat: int) -> bool:
        return any(c.method == "sendMessage" and c.params.get("chat_id") == chat
                   for c in tg.fake.calls)  # fmt: skip

    hers = anna.write_later("hi")
    await tg.fake.until(lambda: sent_to(111))  # Anna's greeting is on its way

    his = ben.write_later("hi")
    await tg.fake.until(lambda: sent_to(222), within=2.0)
    assert tg.fake.world.chats[111][-1]["from"]["is_bot"]  # carried out, not yet answered
    assert ben.news()[0].startswith("Hello Ben, thank you for contacting")

    await tg.bot.settle(hers, his)
    assert len(anna.news()) == 1  # sent once: the late answer was waited for, not retried


async def test_a_message_that_fails_with_a_bug_is_not_lost_in_silence(
    tg: Bench, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    engine = tg.bot.runtime.app.engine
    handle = engine.handle_message

    async def buggy(message: Message) -> bool:
        if message.text == "my parcel is late" or message.payload == "yes":
            raise RuntimeError("a bug")
        return await handle(message)

    monkeypatch.setattr(engine, "handle_message", buggy)
    anna = tg.customer("Anna", 111)
    await anna.says("hi")
    assert await anna.says("my parcel is late") == [SEND_AGAIN]
    assert "telegram: update" in caplog.text and "skipped" in caplog.text
    await anna.says("where is my parcel")  # the next message is served
    assert await anna.taps("Yes") == [SEND_AGAIN]  # a tap too
    monkeypatch.setattr(engine, "handle_message", handle)
    assert (await anna.taps("Yes"))[0].startswith("I'm glad that helped!")


async def test_quick_messages_slowest_first_are_stored_and_relayed_in_the_order_sent(
    tg: Bench, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Rasa's message-order case: ten messages at once, the first ones the slowest to
    handle (100 ms falling to 50), are stored and reach the case in the order sent."""
    engine = tg.bot.runtime.app.engine
    handle = engine.handle_message
    lines = [f"Detail {n}" for n in range(10)]

    async def slow(message: Message) -> bool:
        if message.text in lines:
            await asyncio.sleep(0.1 - 0.005 * lines.index(message.text))
        return await handle(message)

    monkeypatch.setattr(engine, "handle_message", slow)
    anna = tg.customer("Anna", 111)
    await anna.says("hi")
    await anna.says("Can I talk to a human, please?")
    await tg.topic(1)
    await tg.bot.settle(*[anna.write_later(line) for line in lines])
    assert await tg.topic(1) == [f"Anna: {line}" for line in lines]
    async with tg.bot.runtime.app.repo.transaction() as tx:
        stored = await tx.session.scalars(
            select(MessageRecord.text)
            .where(MessageRecord.direction == "in", MessageRecord.text.in_(lines))
            .order_by(MessageRecord.id)
        )  # fmt: skip
        assert list(stored) == lines


async def test_a_429_storm_delays_messages_but_loses_and_reorders_none(tg: Bench) -> None:
    anna = tg.customer("Anna", 111)
    bob = tg.agent("Bob", 501)
    await anna.says("hi")
    await anna.says("Can I talk to a human, please?")
    await bob.taps(1, "Claim")
    await tg.topic(1)
    anna.news()
    tg.fake.fail("sendMessage", chat_id=111, times=3, retry_after=1)
    tg.fake.fail("sendMessage", chat_id=GROUP_ID, times=2, retry_after=1)

    lines = [f"Step {n} of the return" for n in range(1, 6)]
    updates = [await bob.post_later(1, text=line) for line in lines]
    updates += [anna.write_later(f"Answer {n}") for n in range(1, 4)]
    await tg.bot.settle(*updates)

    assert anna.news() == [f"Bob: {line}" for line in lines]
    assert await tg.topic(1) == [f"Anna: Answer {n}" for n in range(1, 4)]
    refused = [c for c in tg.fake.calls if c.status == 429]
    assert len(refused) == 5  # every 429 was waited out and retried


async def test_a_restart_mid_conversation_loses_and_repeats_nothing(
    fake: FakeTelegram, desk_settings: Settings, telegram_settings: TelegramSettings
) -> None:
    first = BotProcess(fake, desk_settings, telegram_settings)
    await first.start()
    tg = Bench(fake, first)
    anna = tg.customer("Anna", 111)
    await anna.says("hi")
    await anna.says("How do I exchange an item for another size?")
    assert anna.buttons() == ["Yes", "No"]

    # Anna taps "No"; the bot records it and its answer, but Telegram is failing for her
    # chat, so the answer is still in the outbox when the process dies.
    fake.fail("sendMessage", chat_id=111, times=10**6, status=502)
    tap = anna.tap_later("No")
    await first._alongside(first.runtime.inbound.wait_processed(tap["update_id"]))
    await fake.until(lambda: any(c.status == 502 for c in fake.calls))
    await first.stop()

    # The crash came before Telegram saw the next getUpdates: it sends the tap again,
    # and Anna wrote once more while the bot was down.
    fake.push(tap)
    later = anna.write_later("Can I talk to a human, please?")
    fake.heal()
    second = BotProcess(fake, desk_settings, telegram_settings)
    await second.start()
    tg.bot = second
    try:
        await second.settle(tap, later)
        news = anna.news()
        assert news[0].startswith("I'm sorry that didn't help.")  # sent once, after all
        assert any("I've opened case #1 for you" in line for line in news[1:])
        assert sum(line.startswith("I'm sorry that didn't help.") for line in news) == 1
        assert await count_inbound(tg, "No") == 1
        assert len(fake.world.topics) == 1
    finally:
        await second.stop()


class BookingLimiter(Limiter):
    """Telegram's real limits on a clock that only moves when the bot waits; remembers
    when each message to a chat was allowed to go."""

    def __init__(self) -> None:
        self.now = self.booked = 0.0
        self.slots: dict[int | str, list[float]] = {}
        super().__init__(Limits(), clock=lambda: self.now, sleep=self._sleep)

    async def _sleep(self, seconds: float) -> None:
        self.now = max(self.now, self.booked)  # the slot just booked has come
        await asyncio.sleep(0)

    def reserve_chat(self, chat: int | str | None, *, posting: bool) -> float:
        wait = super().reserve_chat(chat, posting=posting)
        self.booked = self.now + wait
        if posting and chat is not None:
            self.slots.setdefault(chat, []).append(self.booked)
        return wait

    def reserve_overall(self) -> float:
        wait = super().reserve_overall()
        self.booked = self.now + wait
        return wait


def most_within(slots: list[float], seconds: float) -> int:
    return max(sum(1 for t in slots if start <= t < start + seconds) for start in slots)


async def test_sends_are_paced_per_chat_and_per_group_by_the_real_client(
    fake: FakeTelegram, desk_settings: Settings, telegram_settings: TelegramSettings
) -> None:
    limiter = BookingLimiter()
    bot = BotProcess(fake, desk_settings, telegram_settings, limiter)
    await bot.start()
    tg = Bench(fake, bot)
    try:
        anna = tg.customer("Anna", 111)
        bob = tg.agent("Bob", 501)
        await anna.says("hi")
        await anna.says("Can I talk to a human, please?")
        await bob.taps(1, "Claim")
        updates = [await bob.post_later(1, text=f"Step {n}") for n in range(1, 9)]
        updates += [await bob.post_later(1, text=f"/note check {n}") for n in range(1, 25)]
        await bot.settle(*updates)
    finally:
        await bot.stop()

    assert [t for t in anna.news() if t.startswith("Bob: Step")] == [
        f"Bob: Step {n}" for n in range(1, 9)
    ]
    assert len(limiter.slots[111]) >= 10 and len(limiter.slots[GROUP_ID]) >= 26
    assert most_within(limiter.slots[111], 1.0) <= 3  # a short burst, then 1/s
    assert most_within(limiter.slots[GROUP_ID], 60.0) <= 20  # the group's budget


async def test_a_second_poller_on_the_same_token_stops_with_a_clear_error(
    fake: FakeTelegram, desk_settings: Settings, telegram_settings: TelegramSettings
) -> None:
    fake.fail("getUpdates", status=409, description="Conflict: terminated by other getUpdates")
    async with telegram_runtime(desk_settings, telegram_settings) as runtime:
        with pytest.raises(ChannelError, match="another process is receiving"):
            await runtime.run_polling()
    assert len(fake.called("getUpdates")) == 0  # no retry loop


async def test_a_reply_whose_sending_timed_out_is_sent_once_more_at_most(
    fake: FakeTelegram, desk_settings: Settings, telegram_settings: TelegramSettings
) -> None:
    """Telegram carried the calls out, but its answers never came in time: the bot cannot
    know, tries once more, then gives the reply up as uncertain; the chat goes on."""
    impatient = telegram_settings.model_copy(update={"request_timeout": 1.0})
    bot = BotProcess(fake, desk_settings, impatient)
    await bot.start()
    tg = Bench(fake, bot)

    async def annas_rows() -> list[tuple[str, int]]:
        async with bot.runtime.app.repo.transaction() as tx:
            stmt = select(OutboxItem.status, OutboxItem.attempts).where(OutboxItem.address == "111")
            return [tuple(row) for row in await tx.session.execute(stmt)]

    try:
        anna, ben = tg.customer("Anna", 111), tg.customer("Ben", 222)
        fake.answer_late("sendMessage", chat_id=111, times=10**6, seconds=5.0)
        greeting = anna.write_later("hi")
        await fake.until(lambda: len(fake.called("sendMessage")) >= 1)
        assert await ben.says("hi")  # another chat is not held up meanwhile
        await bot.settle(greeting)
        for _ in range(200):  # two request timeouts, then the row is no longer pending
            if (await annas_rows())[0][0] != "pending":
                break
            await asyncio.sleep(0.05)

        assert await annas_rows() == [("uncertain", 2)]  # so never selected to send again
        greetings = anna.news()
        assert len(greetings) == 2 and greetings[0] == greetings[1]  # shown twice, not more

        fake.heal()  # Telegram answers in time again: her next replies go out once each
        news = await anna.says("Can I talk to a human, please?")
        assert news and len(news) == len(set(news))
    finally:
        await bot.stop()
