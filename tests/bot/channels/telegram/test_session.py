"""The Bot API session keeps aiogram's response models alive (bot.channels.telegram.session):
pydantic holds a parametrised ``Response[T]`` only weakly when it is built inside a
function, as aiogram does for every call, so without a strong reference the garbage
collector frees it and the next call pays about 5 ms to build it again."""

from __future__ import annotations

import gc
import weakref

from aiogram.methods import SendMessage
from aiogram.methods.base import Response

from bot.channels.telegram.limits import Limiter
from bot.channels.telegram.runtime import make_bot
from bot.channels.telegram.settings import TelegramSettings
from tests.bot.channels.telegram.conftest import UNTHROTTLED
from tests.bot.channels.telegram.fake_api import fake_telegram
from tests.bot.channels.telegram.fake_world import TOKEN, Person, private_chat


def response_model_in_a_function() -> weakref.ref[type]:
    """What aiogram's ``check_response`` does: ``Response[T]`` inside a function."""
    return weakref.ref(Response[SendMessage.__returning__])  # type: ignore[name-defined]


async def test_a_sent_message_leaves_its_response_model_cached_for_the_next_call() -> None:
    async with fake_telegram() as fake:
        settings = TelegramSettings(bot_token=TOKEN, api_url=fake.url)
        bot = make_bot(settings, Limiter(UNTHROTTLED))
        try:
            anna = Person(2001, "Anna")
            chat = private_chat(anna)
            fake.world.new_message(chat, anna, text="hi")  # she wrote first
            await bot.send_message(chat["id"], "Hello Anna")
            gc.collect()
            model = response_model_in_a_function()
            gc.collect()  # unpinned, the class built just now would be freed here
            assert model() is not None
            assert response_model_in_a_function()() is model()  # the cache hits
        finally:
            await bot.session.close()
