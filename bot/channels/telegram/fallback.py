"""Whatever no other router handled: logged (without its content) and ignored.

Last in the chain: messages in groups that are not the agents' group, taps on buttons
outside the two known places, and anything else the bot may be sent.
"""

from __future__ import annotations

import contextlib

from aiogram import Router, types
from aiogram.exceptions import TelegramBadRequest

from bot import loggers


def router() -> Router:
    fallback = Router(name="fallback")
    fallback.message.register(on_message)
    fallback.edited_message.register(on_message)
    fallback.callback_query.register(on_callback)
    return fallback


async def on_message(message: types.Message) -> None:
    loggers.channels.info("telegram: %s message in %s chat %s ignored",
                          message.content_type, message.chat.type, message.chat.id)  # fmt: skip


async def on_callback(query: types.CallbackQuery) -> None:
    loggers.channels.warning("telegram: button from user %s outside known chats refused",
                             query.from_user.id)  # fmt: skip
    with contextlib.suppress(TelegramBadRequest):  # too old to answer: nothing to stop
        await query.answer()
