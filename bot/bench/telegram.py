"""The Telegram stack the bench drives: webhook mode, as ``supportbot run telegram
--webhook`` serves it (the real aiogram Bot and Dispatcher, the webhook endpoint with its
secret, the outbox delivery loop), with the agents' desk in a forum group.

Two things differ from production, both on purpose. Telegram's pacing (about 1 message/s
per chat and 25/s overall) is lifted, because it would measure Telegram's limits instead
of the bot; a real bot token cannot send faster than that. And the fake may open up to
``WEBHOOK_CONNECTIONS`` requests at once (Telegram's own default is 40; the bot's setting
defaults to 1, which serialises every update): one chat's updates are still processed one
at a time, in order.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
from collections.abc import AsyncIterator

from bot.bench.fake.telegram import GROUP_ID, TOKEN
from bot.bench.remote import Stack
from bot.settings import Settings

WEBHOOK_CONNECTIONS = 40
PUBLIC_URL = "https://bench.invalid/telegram/webhook"  # registered; the fake posts locally


@contextlib.asynccontextmanager
async def telegram_stack(settings: Settings, api_url: str) -> AsyncIterator[Stack]:
    from bot.channels.telegram.limits import Limits
    from bot.channels.telegram.runtime import telegram_runtime
    from bot.channels.telegram.settings import TelegramSettings
    from bot.channels.telegram.webhook import webhook_server

    telegram = TelegramSettings(
        bot_token=TOKEN, agents_chat_id=GROUP_ID, api_url=api_url,
        webhook_secret=secrets.token_urlsafe(24), webhook_url=PUBLIC_URL,
        webhook_host="127.0.0.1", webhook_port=0,
        webhook_max_connections=WEBHOOK_CONNECTIONS,
    )  # fmt: skip
    async with telegram_runtime(settings, telegram, limits=Limits.unpaced()) as runtime:
        await runtime.check_token()
        async with webhook_server(runtime) as addresses:
            delivering = asyncio.create_task(runtime.run_besides())
            try:
                yield Stack(runtime.app, "telegram", "telegram",
                            addresses[0] + telegram.webhook_path)  # fmt: skip
            finally:
                delivering.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await delivering
