"""Receiving updates: each processed once, in order per chat, nothing lost on a crash.

Telegram keeps an update until a later getUpdates call confirms it (an ``offset`` past
its id). ``poll`` asks for the next batch only after every update of the current one
was processed and its transaction committed, so a crash at any point leaves the
unfinished updates with Telegram, which sends them again; what was already committed is
recognised by its id (the engine's message dedupe, the desk's event keys) and not
applied twice. ``drop_pending_updates`` is never used. A batch is split by chat: each
chat's updates run one after another, in order; different chats run side by side.

A failure the database or the network may recover from is retried, with backoff, and
the update is not skipped. An update that fails for any other reason (a bug) is logged
and skipped, so one poison update cannot stop the bot; a customer whose message it was
is asked to send it again (as on Slack), so it is never lost in silence.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from aiogram import Bot, Dispatcher, types
from aiogram.enums import ChatType
from aiogram.exceptions import (
    TelegramAPIError,
    TelegramConflictError,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
    TelegramUnauthorizedError,
)
from aiogram.methods import AnswerCallbackQuery

from bot import loggers
from bot.channels.telegram.filters import chat_of
from bot.dialogue.texts import SEND_AGAIN
from bot.errors import ChannelError, ConfigError, StorageError
from bot.locks import KeyedLocks

ALLOWED_UPDATES = ["message", "edited_message", "callback_query"]
# Failures that go away by themselves: the update is retried, never skipped.
TRANSIENT = (StorageError, TelegramNetworkError, TelegramServerError, TelegramRetryAfter)
MAX_BACKOFF = 30.0
TOKEN_REJECTED = "invalid setting TELEGRAM_BOT_TOKEN: rejected by Telegram"


@dataclass
class Inbound:
    """Processes updates: per chat in order, each until it succeeded or proved hopeless."""

    bot: Bot
    dispatcher: Dispatcher
    now: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))
    reached: datetime | None = None  # the last getUpdates that came back (heartbeats)
    locks: KeyedLocks = field(default_factory=KeyedLocks)
    _done: dict[int, int] = field(default_factory=dict)  # update id -> times processed
    _changed: asyncio.Condition = field(default_factory=asyncio.Condition)

    async def process(
        self, update: types.Update, *, attempts: int | None = None,
        inline: list[AnswerCallbackQuery] | None = None,
    ) -> bool:  # fmt: skip
        """True once handled (or skipped as hopeless); False if ``attempts`` transient
        failures in a row were used up (the caller must not confirm the update). Given
        ``inline`` (a webhook), a tap's answer is put there for the webhook's response
        to carry, instead of being a Bot API call of its own."""
        async with self.locks.hold(chat_key(update)):
            failures = 0
            while True:
                try:
                    result = await self.dispatcher.feed_update(
                        self.bot, update, answer_inline=inline is not None
                    )
                    if inline is not None and isinstance(result, AnswerCallbackQuery):
                        inline.append(result)
                    break
                except TRANSIENT as exc:
                    failures += 1
                    wait = _retry_wait(exc, failures)
                    loggers.channels.warning("telegram: update %s failed (%s), retry in %.0fs",
                                             update.update_id, exc, wait)  # fmt: skip
                    if attempts is not None and failures >= attempts:
                        return False
                    await asyncio.sleep(wait)
                except Exception:
                    loggers.channels.exception("telegram: update %s skipped", update.update_id)
                    await self._ask_to_send_again(update)
                    break
        await self._finished(update.update_id)
        return True

    async def process_batch(self, updates: list[types.Update]) -> None:
        by_chat: dict[Hashable, list[types.Update]] = defaultdict(list)
        for update in updates:
            by_chat[chat_key(update)].append(update)

        async def in_order(chat_updates: list[types.Update]) -> None:
            for update in chat_updates:
                await self.process(update)

        await asyncio.gather(*(in_order(u) for u in by_chat.values()))

    async def poll(self, *, wait: int) -> None:
        """Long polling until cancelled; see the module docstring for the guarantees."""
        await self.bot.delete_webhook(drop_pending_updates=False)
        offset: int | None = None
        failures = 0
        while True:
            try:
                updates = await self.bot.get_updates(
                    offset=offset, timeout=wait, allowed_updates=ALLOWED_UPDATES,
                    request_timeout=wait + 30,
                )  # fmt: skip
            except TelegramConflictError:
                msg = "another process is receiving this bot's updates (409 Conflict); stopping"
                raise ChannelError(msg) from None
            except TelegramUnauthorizedError:
                raise ConfigError(TOKEN_REJECTED) from None
            except TRANSIENT as exc:
                failures += 1
                pause = _retry_wait(exc, failures)
                loggers.channels.warning("telegram: getUpdates failed (%s), retry in %.0fs",
                                         exc, pause)  # fmt: skip
                await asyncio.sleep(pause)
                continue
            except TelegramAPIError as exc:  # e.g. 404: TELEGRAM_API_URL is not a Bot API
                raise ChannelError(f"Telegram refused getUpdates: {exc}") from None
            failures, self.reached = 0, self.now()
            if updates:
                await self.process_batch(updates)
                offset = max(u.update_id for u in updates) + 1

    async def _ask_to_send_again(self, update: types.Update) -> None:
        chat = customer_chat(update)
        if chat is None:  # an agent's update: the log is where a bug shows
            return
        try:
            await self.bot.send_message(chat, SEND_AGAIN)
        except TelegramAPIError as exc:  # the last word: there is nobody left to tell
            loggers.channels.error("telegram chat %s: could not ask to send again: %s", chat,
                                   type(exc).__name__)  # fmt: skip

    async def _finished(self, update_id: int) -> None:
        async with self._changed:
            self._done[update_id] = self._done.get(update_id, 0) + 1
            if len(self._done) > 10_000:
                del self._done[next(iter(self._done))]
            self._changed.notify_all()

    async def wait_processed(self, update_id: int, *, times: int = 1) -> None:
        """Until the update was processed (``times`` times: a redelivery counts again);
        recent updates only, for tests and diagnostics."""
        async with self._changed:
            await self._changed.wait_for(lambda: self._done.get(update_id, 0) >= times)


def chat_key(update: types.Update) -> Hashable:
    """Updates with the same key are handled one at a time, in order (a chat, or a topic
    of the agents' group)."""
    message = update.message or update.edited_message
    if message is not None:
        return (message.chat.id, message.message_thread_id if message.is_topic_message else 0)
    query = update.callback_query
    if query is not None and query.message is not None:
        shown = query.message
        thread = shown.message_thread_id if isinstance(shown, types.Message) else None
        return (shown.chat.id, thread if thread and shown.chat.id < 0 else 0)
    return ("update", update.update_id)


def customer_chat(update: types.Update) -> int | None:
    """The private chat a customer's message or tap came from (None for anything else)."""
    event = update.message or update.callback_query
    chat = chat_of(event) if event is not None else None
    return chat.id if chat is not None and chat.type == ChatType.PRIVATE else None


def _retry_wait(exc: BaseException, failures: int) -> float:
    if isinstance(exc, TelegramRetryAfter):
        return float(exc.retry_after)
    return min(2.0 ** (failures - 1), MAX_BACKOFF)
