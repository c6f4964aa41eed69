"""``supportbot run telegram``; registered by ``bot.cli``.

Nothing here imports aiogram at module level: ``bot.cli`` imports this module for every
command, and aiogram costs about 140 MB and a noticeable start-up delay.
"""

from __future__ import annotations

from typing import Annotated

import typer


def command(
    ctx: typer.Context,
    webhook: Annotated[
        bool,
        typer.Option(
            "--webhook",
            help="Receive updates by webhook (needs TELEGRAM_WEBHOOK_URL and "
            "TELEGRAM_WEBHOOK_SECRET) instead of long polling.",
        ),
    ] = False,
) -> None:
    """Serve customers on Telegram, and the agents' forum group when the desk is telegram.

    Reads TELEGRAM_BOT_TOKEN, TELEGRAM_AGENTS_CHAT_ID and TELEGRAM_API_URL from the
    environment; see docs/telegram.md.
    """
    from bot.channels.telegram.settings import load_telegram_settings
    from bot.cli import run, settings_from

    settings = settings_from(ctx)

    async def go() -> None:
        telegram = load_telegram_settings()
        telegram.check_for(settings.desk, "webhook" if webhook else "polling")
        from bot.channels.telegram.serve import serve  # aiogram is imported from here on

        await serve(settings, telegram, "webhook" if webhook else "polling")

    run(go())
