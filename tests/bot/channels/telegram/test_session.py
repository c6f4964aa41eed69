"""The Bot API session (bot.channels.telegram.session) posts calls as JSON, and a file
upload as a form; and it keeps aiogram's response models alive: pydantic holds a
parametrised ``Response[T]`` only weakly when it is built inside a function, as aiogram
does for every call, so without a strong reference the garbage collector frees it and
the next call pays about 5 ms to build it again."""

from __future__ import annotations

import gc
import weakref
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from aiogram import Bot, types
from aiogram.enums import ParseMode
from aiogram.methods import SendMessage
from aiogram.methods.base import Response

from bot.channels.telegram.limits import Limiter
from bot.channels.telegram.runtime import make_bot
from bot.channels.telegram.sent import SentMessage, drop_keyboard, send_text
from bot.channels.telegram.settings import TelegramSettings
from tests.bot.channels.telegram.conftest import UNTHROTTLED
from tests.bot.channels.telegram.fake_api import FakeTelegram, fake_telegram
from tests.bot.channels.telegram.fake_world import TOKEN, Person, private_chat


def response_model_in_a_function() -> weakref.ref[type]:
    """What aiogram's ``check_response`` does: ``Response[T]`` inside a function."""
    return weakref.ref(Response[SendMessage.__returning__])  # type: ignore[name-defined]


@asynccontextmanager
async def anna_wrote(fake: FakeTelegram) -> AsyncIterator[tuple[Bot, dict[str, Any]]]:
    """The bot as the Telegram channel makes it, and Anna's chat (she wrote first)."""
    bot = make_bot(TelegramSettings(bot_token=TOKEN, api_url=fake.url), Limiter(UNTHROTTLED))
    anna = Person(2001, "Anna")
    chat = private_chat(anna)
    fake.world.new_message(chat, anna, text="hi")
    try:
        yield bot, chat
    finally:
        await bot.session.close()


async def test_a_sent_message_leaves_its_response_model_cached_for_the_next_call() -> None:
    async with fake_telegram() as fake, anna_wrote(fake) as (bot, chat):
        await bot.send_message(chat["id"], "Hello Anna")
        gc.collect()
        model = response_model_in_a_function()
        gc.collect()  # unpinned, the class built just now would be freed here
        assert model() is not None
        assert response_model_in_a_function()() is model()  # the cache hits


async def test_a_message_goes_as_one_json_object_and_a_file_as_a_form() -> None:
    yes = types.InlineKeyboardButton(text="Yes", callback_data="y")
    keys = types.InlineKeyboardMarkup(inline_keyboard=[[yes]])
    async with fake_telegram() as fake, anna_wrote(fake) as (bot, chat):
        sent = await bot.send_message(chat["id"], "Did that help?", reply_markup=keys,
                                      disable_notification=False)  # fmt: skip
        await bot.send_document(chat["id"], types.BufferedInputFile(b"data", "data.json"))
    message, document = fake.calls[-2:]
    assert message.content_type == "application/json"
    assert message.params == {
        "chat_id": chat["id"], "text": "Did that help?", "disable_notification": False,
        "reply_markup": {"inline_keyboard": [[{"text": "Yes", "callback_data": "y"}]]},
    }  # fmt: skip
    assert sent.text == "Did that help?" and sent.chat.id == chat["id"]  # a Message back
    assert document.content_type == "multipart/form-data"
    assert fake.world.documents  # the upload arrived


async def test_a_text_sent_for_its_id_alone_is_the_same_call_on_the_wire() -> None:
    """``send_text`` and ``drop_keyboard`` make exactly aiogram's calls (the bot's
    defaults included) and read back only the new message's id."""
    yes = types.InlineKeyboardButton(text="Yes", callback_data="y")
    keys = types.InlineKeyboardMarkup(inline_keyboard=[[yes]])
    bold = types.MessageEntity(type="bold", offset=0, length=4)
    options: dict[str, Any] = {"entities": [bold], "reply_markup": keys}
    async with fake_telegram() as fake, anna_wrote(fake) as (bot, chat):
        whole = await bot.send_message(chat["id"], "Bob: Did that help?", **options)
        sent = await send_text(bot, chat["id"], "Bob: Did that help?", **options)
        await bot.edit_message_reply_markup(chat_id=chat["id"], message_id=whole.message_id)
        await drop_keyboard(bot, chat["id"], sent.message_id)
        html = await send_text(bot, chat["id"], "<b>#1</b>", parse_mode=ParseMode.HTML)

    first, second, edit_first, edit_second, third = fake.calls[-5:]
    assert (first.method, first.params) == (second.method, second.params)
    assert third.params["parse_mode"] == "HTML"
    assert edit_second.method == edit_first.method == "editMessageReplyMarkup"
    assert {**edit_second.params, "message_id": 0} == {**edit_first.params, "message_id": 0}
    assert isinstance(sent, SentMessage) and sent.message_id == whole.message_id + 1
    assert html.message_id == sent.message_id + 1
    bot_said = [m for m in fake.world.chats[chat["id"]] if m["from"]["is_bot"]]
    assert [m.get("reply_markup") for m in bot_said] == [None, None, None]  # both dropped
