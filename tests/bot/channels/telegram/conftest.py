"""A Telegram test bench: the fake Bot API, the real bot process (aiogram, engine, SQLite
file) polling it, and people who write, tap and read, so tests read like conversations:

    await anna.says("hi")            # returns what Anna saw the bot answer
    await bob.taps(1, "Claim")       # an agent taps the card of case #1
    tg.topic(1)                      # what appeared in case #1's topic since last look

Agents work in the agents' forum group unless given another (a routing group's own).

Every step waits until the bot has processed the update and delivered its outbox, by
conditions the bot and the fake server signal, never by sleeping.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from bot.app import utc_now
from bot.channels.telegram.forums import parse_topic_ref
from bot.channels.telegram.limits import Limiter, Limits
from bot.channels.telegram.runtime import Runtime, telegram_runtime
from bot.channels.telegram.settings import TelegramSettings
from bot.settings import Settings
from tests.bot.channels.telegram.fake_api import FakeTelegram, fake_telegram
from tests.bot.channels.telegram.fake_world import (
    GROUP_ID,
    TOKEN,
    Person,
    buttons_of,
    private_chat,
    shown,
)
from tests.conftest import make_settings

# Pacing is tested on its own (with a fake clock); conversations run unthrottled.
UNTHROTTLED = Limits.unpaced()
WAIT = 15.0  # seconds before a missing message fails the test


class BotProcess:
    """``supportbot run telegram``, in-process: start, stop (like a crash), settle."""

    def __init__(self, fake: FakeTelegram, settings: Settings, telegram: TelegramSettings,
                 limiter: Limiter | None = None,
                 now: Callable[[], datetime] = utc_now) -> None:  # fmt: skip
        self.fake, self.settings, self.telegram = fake, settings, telegram
        self.limiter = limiter or Limiter(UNTHROTTLED)
        self.now = now
        self._stack: AsyncExitStack | None = None
        self._task: asyncio.Task[None] | None = None
        self.runtime: Runtime

    async def start(self) -> None:
        self._stack = AsyncExitStack()
        self.runtime = await self._stack.enter_async_context(
            telegram_runtime(self.settings, self.telegram, limiter=self.limiter, now=self.now)
        )
        self._task = asyncio.create_task(self.runtime.run_polling())

    async def stop(self) -> None:
        """Cancel receiving and sending at once: whatever was in flight is cut off."""
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        if self._stack is not None:
            await self._stack.aclose()
        self._task = self._stack = None

    async def settle(self, *updates: dict[str, Any], times: int = 1) -> None:
        """Until these updates were processed (``times`` times, for redeliveries) and
        nothing is left to send."""
        for update in updates:
            done = self.runtime.inbound.wait_processed(update["update_id"], times=times)
            await self._alongside(done)
        await self._alongside(self.runtime.delivery.wait_idle())

    async def _alongside(self, waiting: Any) -> None:
        # Fail at once (with its error) if the bot died, instead of waiting in vain.
        assert self._task is not None
        waiter = asyncio.ensure_future(waiting)
        done, _ = await asyncio.wait({waiter, self._task}, timeout=WAIT,
                                     return_when=asyncio.FIRST_COMPLETED)  # fmt: skip
        if waiter not in done:
            waiter.cancel()
            if self._task in done:
                self._task.result()
            raise AssertionError("the bot did not settle in time")


class Customer:
    def __init__(self, bench: Bench, person: Person) -> None:
        self.bench, self.person = bench, person
        self.chat = private_chat(person)
        self._seen = 0

    async def says(self, text: str) -> list[str]:
        return await self.sends_content(text=text)

    async def sends(self, kind: str, caption: str | None = None) -> list[str]:
        return await self.sends_content(caption=caption, **self.bench.fake.world.media(kind))

    async def sends_content(self, **content: Any) -> list[str]:
        await self.bench.bot.settle(self.write_later(**content))
        return self.news()

    async def taps(self, label: str, *, data: str | None = None) -> list[str]:
        """Tap a button of the newest message that has it (``data`` forges its data)."""
        await self.bench.bot.settle(self.tap_later(label, data=data))
        return self.news()

    def write_later(self, text: str | None = None, **content: Any) -> dict[str, Any]:
        """Send without waiting for the bot (the update is queued at Telegram)."""
        message = self.bench.fake.world.new_message(self.chat, self.person, text=text, **content)
        return self.bench.fake.push({"message": message})

    def tap_later(self, label: str, *, data: str | None = None) -> dict[str, Any]:
        message = self.bench.last_with_button(self.chat["id"], label)
        return self.bench.tap(self.person, message, label, data)

    def news(self) -> list[str]:
        """What the bot sent to this chat since the last look."""
        mine = [m for m in self.bench.fake.world.chats.get(self.chat["id"], [])
                if m["from"]["is_bot"]]  # fmt: skip
        new, self._seen = mine[self._seen :], len(mine)
        return [shown(m) for m in new]

    def buttons(self) -> list[str]:
        mine = [m for m in self.bench.fake.world.chats.get(self.chat["id"], [])
                if m["from"]["is_bot"] and buttons_of(m)]  # fmt: skip
        return [b["text"] for b in buttons_of(mine[-1])] if mine else []


class Agent:
    def __init__(self, bench: Bench, person: Person, status: str, chat: int = GROUP_ID) -> None:
        self.bench, self.person, self.chat = bench, person, chat
        if status:
            bench.fake.world.forum_members[chat][person.id] = status

    async def says(self, case: int, text: str) -> None:
        await self.bench.bot.settle(await self.post_later(case, text=text))

    async def sends(self, case: int, kind: str, caption: str | None = None) -> None:
        media = self.bench.fake.world.media(kind)
        await self.bench.bot.settle(await self.post_later(case, caption=caption, **media))

    async def taps(self, case: int, label: str, *, data: str | None = None) -> None:
        """Tap a button of the case's card in this agent's group (``data`` forges its
        data)."""
        card = self.bench.last_with_button(self.chat, label, await self.thread(case))
        await self.bench.bot.settle(self.bench.tap(self.person, card, label, data))

    async def post_later(self, case: int, **content: Any) -> dict[str, Any]:
        thread = await self.thread(case)
        forum = self.bench.fake.world.forums[self.chat]
        message = self.bench.fake.world.new_message(forum, self.person, thread, **content)
        return self.bench.fake.push({"message": message})

    async def thread(self, case: int) -> int:
        """The case's topic in this agent's group: where it is, or was before it moved."""
        chat, thread = await self.bench.place(case)
        if chat == self.chat:
            return thread
        return self.bench.left_behind[(case, self.chat)]


class Bench:
    def __init__(self, fake: FakeTelegram, bot: BotProcess) -> None:
        self.fake, self.bot = fake, bot
        self._topic_seen: dict[tuple[int, int], int] = {}
        self.left_behind: dict[tuple[int, int], int] = {}  # (case, chat) -> its old topic

    def customer(self, first_name: str, user_id: int) -> Customer:
        return Customer(self, Person(user_id, first_name))

    def agent(
        self, first_name: str, user_id: int, status: str = "member", chat: int = GROUP_ID
    ) -> Agent:
        return Agent(self, Person(user_id, first_name), status, chat)

    async def place(self, case: int) -> tuple[int, int]:
        """(chat, thread) of the case's topic; remembered, so a topic the case moved away
        from can still be read and written in."""
        async with self.bot.runtime.app.repo.transaction() as tx:
            row = await tx.desk_thread(case, "telegram")
        assert row is not None, f"case #{case} has no topic"
        places = self.bot.runtime.dispatcher["tg"].places
        chat, thread = parse_topic_ref(places, row.thread_ref)
        self.left_behind[(case, chat)] = thread
        return chat, thread

    async def thread(self, case: int) -> int:
        return (await self.place(case))[1]

    async def topic(self, case: int, chat: int | None = None) -> list[str]:
        """What the bot posted in the case's topic since the last look (the card too);
        with ``chat``, in the topic the case has (or had) in that group."""
        where, thread = await self.place(case)
        if chat is not None and chat != where:
            where, thread = chat, self.left_behind[(case, chat)]
        posts = [m for m in self.fake.world.chats.get(where, [])
                 if m.get("message_thread_id") == thread and m["from"]["is_bot"]
                 and "forum_topic_created" not in m]  # fmt: skip
        seen = self._topic_seen.get((case, where), 0)
        self._topic_seen[(case, where)] = len(posts)
        return [shown(m) for m in posts[seen:]]

    def tap(
        self, person: Person, message: dict[str, Any], label: str, data: str | None
    ) -> dict[str, Any]:
        button = next(b for b in buttons_of(message) if b["text"] == label)
        return self.fake.push({"callback_query": {
            "id": self.fake.world.query_id(), "from": person.json(), "chat_instance": "c1",
            "message": message, "data": data or button["callback_data"],
        }})  # fmt: skip

    def last_with_button(self, chat_id: int, label: str, thread: int | None = None) -> Any:
        for message in reversed(self.fake.world.chats.get(chat_id, [])):
            if thread is not None and message.get("message_thread_id") != thread:
                continue
            if any(b["text"] == label for b in buttons_of(message)):
                return message
        raise AssertionError(f"no button {label!r} on offer")


@pytest.fixture(autouse=True)
def no_telegram_environ(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("TELEGRAM_"):
            monkeypatch.delenv(name)


@pytest.fixture
async def fake() -> AsyncIterator[FakeTelegram]:
    async with fake_telegram() as running:
        yield running


@pytest.fixture
def desk_settings(tmp_path: Path) -> Settings:
    return make_settings(tmp_path, desk="telegram")


@pytest.fixture
def telegram_settings(fake: FakeTelegram) -> TelegramSettings:
    return TelegramSettings(bot_token=TOKEN, agents_chat_id=GROUP_ID, api_url=fake.url,
                            polling_timeout=1)  # fmt: skip


@pytest.fixture
async def tg(
    fake: FakeTelegram, desk_settings: Settings, telegram_settings: TelegramSettings
) -> AsyncIterator[Bench]:
    bot = BotProcess(fake, desk_settings, telegram_settings)
    await bot.start()
    try:
        yield Bench(fake, bot)
    finally:
        await bot.stop()
