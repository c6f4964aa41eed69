"""Running the Slack service until Ctrl-C or SIGTERM, over HTTP or Socket Mode."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal

import typer
from aiohttp import web

from bot import loggers
from bot.channels.slack.service import PATH, slack_service
from bot.channels.slack.settings import load_slack_settings
from bot.channels.slack.translate import CHANNEL
from bot.health_http import health_server
from bot.settings import Settings


async def serve(settings: Settings, *, host: str, port: int) -> None:
    slack = load_slack_settings(desk=settings.desk)
    _quiet_libraries()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    async with slack_service(settings, slack) as service:
        desk = f"agents in {slack.agents_channel}" if settings.desk == "slack" else "no desk"
        if slack.app_token is not None:
            from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler

            handler = AsyncSocketModeHandler(service.bolt, slack.app_token.get_secret_value())
            await handler.connect_async()  # type: ignore[no-untyped-call]
            typer.echo(f"Slack: connected in Socket Mode ({desk}). Ctrl-C to stop.", err=True)
            try:
                async with health_server(settings.health, CHANNEL, service.figures()):
                    await stop.wait()
            finally:
                await handler.close_async()  # type: ignore[no-untyped-call]
            return
        runner = web.AppRunner(service.web_app())
        await runner.setup()
        try:
            await web.TCPSite(runner, host, port).start()
            typer.echo(f"Slack: listening on http://{host}:{port}{PATH} ({desk}). Ctrl-C to stop.",
                       err=True)  # fmt: skip
            await stop.wait()
        finally:
            await runner.cleanup()


def _quiet_libraries() -> None:
    """slack_sdk and bolt log request bodies (customers' words) at DEBUG: never below INFO."""
    for name in ("slack_sdk", "slack_bolt", loggers.channels.getChild("bolt").name):
        logger = logging.getLogger(name)
        logger.setLevel(max(logger.getEffectiveLevel(), logging.INFO))
