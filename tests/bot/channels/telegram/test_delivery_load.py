"""Under load, delivery stays one pass per outbox: a chat that must wait (Telegram's
pacing, a 429) holds up only itself, and waiting never piles up work in the bot."""

from __future__ import annotations

import asyncio

from bot.channels.telegram.limits import Limiter
from bot.channels.telegram.settings import TelegramSettings
from bot.settings import Settings
from tests.bot.channels.telegram.conftest import UNTHROTTLED, Bench, BotProcess
from tests.bot.channels.telegram.fake_api import FakeTelegram

ANNA = 111
OTHERS = 30


class PacedChat(Limiter):
    """Unthrottled, except one chat whose next slot does not come until ``release``: the
    bot's send to it waits in the limiter, as it would for Telegram's real pacing."""

    def __init__(self, chat: int) -> None:
        super().__init__(UNTHROTTLED)
        self.chat = chat
        self.slot = asyncio.Event()
        self.slot.set()
        self.waiting = asyncio.Event()

    def hold(self) -> None:
        self.slot.clear()
        self.waiting.clear()

    def release(self) -> None:
        self.slot.set()

    async def acquire(self, chat: int | str | None, *, posting: bool) -> None:
        if chat == self.chat and not self.slot.is_set():
            self.waiting.set()
            await self.slot.wait()
        await super().acquire(chat, posting=posting)


def bot_replies(fake: FakeTelegram, chat: int) -> list[str]:
    return [str(m.get("text")) for m in fake.world.chats.get(chat, []) if m["from"]["is_bot"]]


async def test_a_paced_chat_holds_up_nobody_and_deliveries_do_not_pile_up(
    fake: FakeTelegram, desk_settings: Settings, telegram_settings: TelegramSettings
) -> None:
    limiter = PacedChat(ANNA)
    bot = BotProcess(fake, desk_settings, telegram_settings, limiter)
    await bot.start()
    tg = Bench(fake, bot)
    try:
        anna = tg.customer("Anna", ANNA)
        await anna.says("hi")
        anna.news()

        # Anna asks for a person; her answer must wait for her chat's next slot.
        limiter.hold()
        asked = anna.write_later("Can I talk to a human, please?")
        await bot._alongside(bot.runtime.inbound.wait_processed(asked["update_id"]))
        await bot._alongside(limiter.waiting.wait())
        alive = len(asyncio.all_tasks())

        # Meanwhile thirty other customers write, one after another: each is greeted at
        # once, and every update (a kick of the delivery loop) leaves nothing running.
        for n in range(OTHERS):
            chat = 2000 + n
            tg.customer(f"Customer{n}", chat).write_later("hi")
            await fake.until(lambda chat=chat: len(bot_replies(fake, chat)) == 1)
        assert len(asyncio.all_tasks()) - alive < OTHERS // 3
        assert anna.news() == []

        # Her slot comes: the answer goes out, and the bot settles with nothing pending.
        limiter.release()
        await bot.settle()
        assert any("I've opened case #1 for you" in line for line in anna.news())
    finally:
        await bot.stop()
