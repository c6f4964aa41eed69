"""The Telegram process's signs of life, as ``supportbot health`` and a monitor see them:
a poller that runs but cannot reach Telegram, Telegram failing to reach the webhook
(its own ``getWebhookInfo``), and ``GET /healthz`` and ``GET /metrics`` on the webhook
server."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator

import aiohttp
import pytest
from typer.testing import CliRunner, Result

from bot.app import utc_now
from bot.channels.telegram.runtime import Runtime, telegram_runtime
from bot.channels.telegram.settings import TelegramSettings
from bot.channels.telegram.webhook import SECRET_HEADER, webhook_server
from bot.cli import app
from bot.settings import Settings
from tests.bot.channels.telegram.conftest import UNTHROTTLED, Bench, BotProcess, Customer
from tests.bot.channels.telegram.fake_api import FakeTelegram
from tests.bot.channels.telegram.fake_world import GROUP_ID, TOKEN, Person, private_chat
from tests.conftest import Clock

PUBLIC_URL = "https://bot.example.com/telegram/webhook"


async def health(settings: Settings, fake: FakeTelegram, token: str = TOKEN) -> Result:
    """``supportbot health`` as cron runs it, with the bot's environment (in a thread:
    the command runs its own event loop, and the bot and the fake must go on)."""
    env = {"SUPPORTBOT_DATABASE_URL": settings.database_url, "TELEGRAM_BOT_TOKEN": token,
           "TELEGRAM_API_URL": fake.url}  # fmt: skip
    return await asyncio.to_thread(CliRunner().invoke, app, ["health"], env=env)


async def test_a_poller_that_cannot_reach_telegram_fails_the_health_check(
    fake: FakeTelegram, desk_settings: Settings, telegram_settings: TelegramSettings
) -> None:
    clock = Clock()
    clock.current = utc_now().replace(microsecond=0)  # as beats store it
    bot = BotProcess(fake, desk_settings, telegram_settings, now=clock)
    await bot.start()
    try:
        anna = Customer(Bench(fake, bot), Person(7, "Anna"))
        assert await anna.says("hi")  # getUpdates came back with it
        await bot.runtime.heartbeat.beat()  # the next beat, due every minute
        healthy = await health(desk_settings, fake)
        assert healthy.exit_code == 0, healthy.output
        assert "ok    telegram  alive " in healthy.output
        assert " s before" in healthy.output  # "; reached Telegram 0 s before" it wrote
        assert "; reached Telegram " in healthy.output

        fake.fail("getUpdates", times=10_000, status=502)  # Telegram out of reach
        await fake.until(lambda: any(c.method == "getUpdates" and c.status == 502
                                     for c in fake.calls))  # fmt: skip
        clock.advance(minutes=10)
        await bot.runtime.heartbeat.beat()

        result = await health(desk_settings, fake)
    finally:
        await bot.stop()

    assert result.exit_code == 1
    assert "FAIL  telegram  running, but has not reached Telegram for 10 min (" in result.output
    assert "Telegram deletes undelivered updates after 24 h: 23 h 50 min left" in result.output
    assert "updates waiting; waits to be polled" in result.output  # Telegram's own view


@pytest.fixture
async def webhook(
    fake: FakeTelegram, desk_settings: Settings
) -> AsyncIterator[tuple[str, Runtime]]:
    """``supportbot run telegram --webhook``: the server, delivery and heartbeats."""
    telegram = TelegramSettings(bot_token=TOKEN, agents_chat_id=GROUP_ID, api_url=fake.url,
                                webhook_secret="s3cret", webhook_url=PUBLIC_URL,
                                webhook_host="127.0.0.1", webhook_port=0)  # fmt: skip
    async with (
        telegram_runtime(desk_settings, telegram, limits=UNTHROTTLED) as runtime,
        webhook_server(runtime) as addresses,
    ):
        besides = asyncio.create_task(runtime.run_besides())
        try:
            yield addresses[0], runtime
        finally:
            besides.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await besides


async def test_telegram_failing_to_reach_the_webhook_fails_the_health_check(
    webhook: tuple[str, Runtime], fake: FakeTelegram, desk_settings: Settings
) -> None:
    fake.pending.extend([{"update_id": 901}, {"update_id": 902}])  # held for the bot
    fake.webhook_error = (int(time.time()) - 125, "Connection timed out")

    result = await health(desk_settings, fake)

    assert result.exit_code == 1
    assert (
        f"FAIL  Telegram  2 updates waiting; delivers to {PUBLIC_URL}; "
        "last delivery error 2 min " in result.output
    )
    assert " s ago: Connection timed out" in result.output
    assert "ok    telegram  alive " in result.output  # the process itself runs


async def test_the_webhook_server_answers_healthz(webhook: tuple[str, Runtime]) -> None:
    base, _ = webhook
    async with aiohttp.ClientSession() as http, http.get(base + "/healthz") as response:
        assert response.status == 200
        assert await response.json() == {"status": "ok", "role": "telegram", "detail": "ok"}


async def test_the_webhook_server_shows_prometheus_what_it_did(
    webhook: tuple[str, Runtime], fake: FakeTelegram
) -> None:
    base, _ = webhook
    anna = Person(7, "Anna")
    update = {"update_id": 1, "message": fake.world.new_message(private_chat(anna), anna,
                                                                 text="hi")}  # fmt: skip
    async with aiohttp.ClientSession() as http:
        posted = await http.post(base + "/telegram/webhook", json=update,
                                 headers={SECRET_HEADER: "s3cret"})  # fmt: skip
        assert posted.status == 200
        await fake.until(lambda: len(fake.world.chats.get(7, [])) == 2)  # hi, the greeting
        async with http.get(base + "/metrics") as response:
            assert response.status == 200
            text = await response.text()

    figures = dict(line.rsplit(" ", 1) for line in text.splitlines() if line[:1] != "#")
    assert figures["supportbot_committed_total"] == "1.0"
    assert figures["supportbot_commit_batches_total"] == "1.0"
    assert figures['supportbot_outbox_sent_total{outbox="customers"}'] == "1.0"
    assert figures['supportbot_outbox_queued{outbox="customers"}'] == "0.0"
    assert figures['supportbot_outbox_uncertain_total{outbox="desk"}'] == "0.0"
    assert "process_resident_memory_bytes" in figures


async def test_a_rejected_or_unreachable_telegram_is_a_failed_check_without_the_token(
    webhook: tuple[str, Runtime], fake: FakeTelegram, desk_settings: Settings
) -> None:
    wrong = "123456:WRONG-token"
    rejected = await health(desk_settings, fake, token=wrong)
    fake.url = "http://127.0.0.1:9"  # nothing listens there
    unreachable = await health(desk_settings, fake, token=wrong)

    assert rejected.exit_code == unreachable.exit_code == 1
    assert (
        "FAIL  Telegram  could not be asked: the token was rejected (TELEGRAM_BOT_TOKEN)"
        in rejected.output
    )
    assert "FAIL  Telegram  could not be asked: " in unreachable.output
    assert "WRONG" not in rejected.output + unreachable.output
