"""Router filters, written as coroutines on purpose.

aiogram awaits a filter that is a coroutine function, but runs any other callable, a
magic ``F`` filter included (``F.chat.type == "private"``), through
``asyncio.to_thread``: a hop to a worker thread and back for every update, at every
router the update passes. Under load that is a thread hop per router per update, and the
worker threads compete for the GIL with the event loop that serves everyone. These few
checks take microseconds in the loop itself. (The bench's throughput did not change
measurably; the hops are gone all the same, see docs/performance.md, session 10.)
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Collection

from aiogram import types
from aiogram.enums import ChatType

EventFilter = Callable[[types.TelegramObject], Awaitable[bool]]


def chat_of(event: types.TelegramObject) -> types.Chat | None:
    """The chat a message is in, or the chat of the message a button was tapped on."""
    if isinstance(event, types.CallbackQuery):
        return event.message.chat if event.message is not None else None
    chat = getattr(event, "chat", None)
    return chat if isinstance(chat, types.Chat) else None


async def private_chat(event: types.TelegramObject, /) -> bool:
    chat = chat_of(event)
    return chat is not None and chat.type == ChatType.PRIVATE


def chat_among(chats: Collection[int]) -> EventFilter:
    """Events in one of ``chats`` (the agents' forum groups)."""
    ids = frozenset(chats)

    async def among(event: types.TelegramObject, /) -> bool:
        chat = chat_of(event)
        return chat is not None and chat.id in ids

    return among


async def slash_command(message: types.Message, /) -> bool:
    """Anything that looks like a command (``/word``), known or not."""
    return (message.text or "").startswith("/")
