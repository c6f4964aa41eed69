"""What Telegram says about the bot, for ``supportbot health``: ``getWebhookInfo``.

Telegram answers it in both modes: how many updates it holds for the bot (waiting for a
poll, or for the webhook to take them), and, for a webhook, when and why its last
delivery failed (a certificate, a timeout, a 5xx). That is the only way to see a bot
that runs but that Telegram cannot reach. Errors never quote the token.
"""

from __future__ import annotations

from datetime import UTC

from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import TelegramAPIError, TelegramUnauthorizedError

from bot.channels.telegram.settings import TelegramSettings
from bot.health_check import PlatformView

TIMEOUT = 15.0  # seconds: a health check must not hang a cron job


async def telegram_view(telegram: TelegramSettings) -> PlatformView:
    session = AiohttpSession(api=TelegramAPIServer.from_base(telegram.api_url), timeout=TIMEOUT)
    bot = Bot(telegram.token, session=session)
    try:
        info = await bot.get_webhook_info()
    except TelegramUnauthorizedError:
        return PlatformView("Telegram", unreachable="the token was rejected (TELEGRAM_BOT_TOKEN)")
    except TelegramAPIError as exc:  # network errors included
        text = str(exc).replace(telegram.token, "[redacted]")
        return PlatformView("Telegram", unreachable=text)
    finally:
        await session.close()
    error_at = info.last_error_date
    return PlatformView(
        "Telegram", pending=info.pending_update_count, url=info.url,
        last_error=info.last_error_message,
        last_error_at=error_at.astimezone(UTC) if error_at else None,
    )  # fmt: skip
