"""Webhook mode: only Telegram (which knows the secret) may post updates, each counts once."""

from __future__ import annotations

import asyncio
import contextlib
import io
import logging
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from bot.channels.telegram.runtime import Runtime, telegram_runtime
from bot.channels.telegram.serve import serve
from bot.channels.telegram.settings import TelegramSettings
from bot.channels.telegram.webhook import MAX_BODY, SECRET_HEADER, webhook_server
from bot.errors import ConfigError
from bot.settings import Settings
from tests.bot.channels.telegram import fake_world
from tests.bot.channels.telegram.conftest import UNTHROTTLED
from tests.bot.channels.telegram.fake_api import FakeTelegram
from tests.bot.channels.telegram.fake_world import GROUP_ID, TOKEN, Person, private_chat, shown

SECRET = "s3cret-Token_1"
PUBLIC_URL = "https://bot.example.com/telegram/webhook"


@pytest.fixture
def webhook_settings(fake: FakeTelegram) -> TelegramSettings:
    return TelegramSettings(
        bot_token=TOKEN, agents_chat_id=GROUP_ID, api_url=fake.url,
        webhook_secret=SECRET, webhook_url=PUBLIC_URL,
        webhook_host="127.0.0.1", webhook_port=0,
    )  # fmt: skip


@pytest.fixture
async def endpoint(
    desk_settings: Settings, webhook_settings: TelegramSettings
) -> AsyncIterator[tuple[str, Runtime]]:
    runtime_cm = telegram_runtime(desk_settings, webhook_settings, limits=UNTHROTTLED)
    async with runtime_cm as runtime, webhook_server(runtime) as addresses:
        delivering = asyncio.create_task(runtime.run_besides())
        try:
            yield addresses[0] + webhook_settings.webhook_path, runtime
        finally:
            delivering.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await delivering


async def answer_to(url: str, update: dict[str, Any]) -> Any:
    """Post an update as Telegram does and return the webhook's answer (JSON)."""
    headers = {SECRET_HEADER: SECRET}
    async with aiohttp.ClientSession() as http, http.post(url, json=update, headers=headers) as r:
        assert r.status == 200
        return await r.json()


async def post(url: str, update: dict[str, Any], secret: str | None) -> int:
    headers = {SECRET_HEADER: secret} if secret is not None else {}
    async with aiohttp.ClientSession() as http, http.post(url, json=update, headers=headers) as r:
        return r.status


async def test_the_webhook_is_registered_with_its_secret(
    fake: FakeTelegram, endpoint: tuple[str, Runtime]
) -> None:
    assert fake.webhook == {
        "url": PUBLIC_URL,
        "secret_token": SECRET,
        "allowed_updates": ["message", "edited_message", "callback_query"],
        "max_connections": 1,
    }


async def test_only_requests_with_the_secret_are_processed_and_each_update_once(
    fake: FakeTelegram, endpoint: tuple[str, Runtime]
) -> None:
    url, runtime = endpoint
    anna = Person(111, "Anna")
    hello = {"update_id": 77, "message": fake.world.new_message(private_chat(anna), anna,
                                                                text="hi")}  # fmt: skip

    assert await post(url, hello, secret=None) == 401
    assert await post(url, hello, secret="wrong-secret") == 401
    assert await post(url, {"update_id": "not an update"}, secret=SECRET) == 400
    assert await post(url, hello, secret=SECRET) == 200
    assert await post(url, hello, secret=SECRET) == 200  # Telegram retried: no second answer

    await runtime.delivery.wait_idle()
    answers = [shown(m) for m in fake.world.chats[111] if m["from"]["is_bot"]]
    assert answers == [
        "Hello Anna, thank you for contacting Acme Customer Support. "
        "My name is Sam. How can I assist you today?"
    ]


async def test_malformed_and_oversized_bodies_are_refused_and_nothing_breaks(
    fake: FakeTelegram, endpoint: tuple[str, Runtime], caplog: pytest.LogCaptureFixture
) -> None:
    url, runtime = endpoint
    bodies = [b"{not json", b"[" * 100_000, b"[1, 2]", b"\xff\xfe", b"{" + b" " * MAX_BODY + b"}"]
    statuses = []
    async with aiohttp.ClientSession() as http:
        for body in bodies:
            headers = {SECRET_HEADER: SECRET, "Content-Type": "application/json"}
            async with http.post(url, data=io.BytesIO(body), headers=headers) as response:
                statuses.append(response.status)
    assert statuses == [400, 400, 400, 400, 413]
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR] == []

    anna = Person(111, "Anna")  # and the next update is served
    hello = {"update_id": 78, "message": fake.world.new_message(private_chat(anna), anna,
                                                                text="hi")}  # fmt: skip
    assert await post(url, hello, secret=SECRET) == 200
    await runtime.delivery.wait_idle()
    assert len([m for m in fake.world.chats[111] if m["from"]["is_bot"]]) == 1


async def test_webhook_mode_refuses_to_start_without_a_secret(
    fake: FakeTelegram, desk_settings: Settings
) -> None:
    open_door = TelegramSettings(bot_token=TOKEN, agents_chat_id=GROUP_ID, api_url=fake.url,
                                 webhook_url=PUBLIC_URL)  # fmt: skip
    with pytest.raises(ConfigError, match="TELEGRAM_WEBHOOK_SECRET"):
        await serve(desk_settings, open_door, "webhook")
    assert fake.calls == []  # refused before talking to Telegram at all


async def test_a_tap_is_answered_in_the_webhooks_response(
    fake: FakeTelegram, endpoint: tuple[str, Runtime]
) -> None:
    """Telegram performs a method named in the webhook's response: the tap's answer goes
    there instead of being a Bot API call of its own."""
    url, runtime = endpoint
    anna = Person(111, "Anna")
    chat = private_chat(anna)
    for n, text in enumerate(["hi", "How do I exchange an item for another size?"]):
        message = fake.world.new_message(chat, anna, text=text)
        assert await post(url, {"update_id": 100 + n, "message": message}, SECRET) == 200
    await runtime.delivery.wait_idle()
    question = next(m for m in reversed(fake.world.chats[111]) if fake_world.buttons_of(m))
    yes = next(b for b in fake_world.buttons_of(question) if b["text"] == "Yes")
    tap = {"update_id": 102, "callback_query": {
        "id": "tap-1", "from": anna.json(), "chat_instance": "c1", "message": question,
        "data": yes["callback_data"]}}  # fmt: skip

    assert await answer_to(url, tap) == {"method": "answerCallbackQuery",
                                         "callback_query_id": "tap-1"}  # fmt: skip
    await runtime.delivery.wait_idle()
    assert fake.called("answerCallbackQuery") == []  # no call of its own
    assert fake_world.buttons_of(question) == []  # the keyboard is still taken away
    answers = [shown(m) for m in fake.world.chats[111] if m["from"]["is_bot"]]
    assert any("glad that helped" in a for a in answers)


async def test_an_agents_tap_on_a_card_is_answered_in_the_webhooks_response_too(
    fake: FakeTelegram, endpoint: tuple[str, Runtime]
) -> None:
    url, runtime = endpoint
    anna, bob = Person(111, "Anna"), Person(900, "Bob")
    fake.world.forum_members[GROUP_ID][bob.id] = "member"
    for n, text in enumerate(["hi", "I want to talk to a person"]):
        message = fake.world.new_message(private_chat(anna), anna, text=text)
        assert await post(url, {"update_id": 200 + n, "message": message}, SECRET) == 200
    await runtime.delivery.wait_idle()
    card = next(m for m in reversed(fake.world.chats[GROUP_ID])
                if any(b["text"] == "Claim" for b in fake_world.buttons_of(m)))  # fmt: skip
    claim = next(b for b in fake_world.buttons_of(card) if b["text"] == "Claim")
    tap = {"update_id": 202, "callback_query": {
        "id": "tap-9", "from": bob.json(), "chat_instance": "c1", "message": card,
        "data": claim["callback_data"]}}  # fmt: skip

    assert await answer_to(url, tap) == {
        "method": "answerCallbackQuery", "callback_query_id": "tap-9",
        "text": "Case #1 is yours.", "show_alert": False,
    }  # fmt: skip
    await runtime.delivery.wait_idle()
    assert fake.called("answerCallbackQuery") == []  # no call of its own
    async with runtime.app.repo.transaction() as tx:
        case = await tx.case(1)
    assert case is not None and case.assigned_agent == "Bob"
