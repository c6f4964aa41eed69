"""Running the Slack service until Ctrl-C or SIGTERM, over HTTP or Socket Mode."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from datetime import datetime
from typing import TYPE_CHECKING

import typer
from aiohttp import web

from bot import loggers
from bot.channels.slack.service import PATH, slack_service
from bot.channels.slack.settings import load_slack_settings
from bot.channels.slack.translate import CHANNEL
from bot.health import Heartbeat
from bot.health_http import health_server
from bot.listening import listen
from bot.settings import Settings

if TYPE_CHECKING:
    from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler

CONNECTION_CHECK = 5.0  # seconds between looks at the Socket Mode connection


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
            watching = asyncio.create_task(_watch_connection(handler, service.heartbeat))
            try:
                async with health_server(settings.health, CHANNEL, service.figures()):
                    await stop.wait()
            finally:
                watching.cancel()
                await asyncio.gather(watching, return_exceptions=True)
                await handler.close_async()  # type: ignore[no-untyped-call]
            return
        runner = web.AppRunner(service.web_app())
        await runner.setup()
        try:
            await listen(runner, host, port, "SLACK_PORT")
            typer.echo(f"Slack: listening on http://{host}:{port}{PATH} ({desk}). Ctrl-C to stop.",
                       err=True)  # fmt: skip
            await stop.wait()
        finally:
            await runner.cleanup()


async def _watch_connection(handler: AsyncSocketModeHandler, heartbeat: Heartbeat) -> None:
    """Socket Mode: the beats say when the connection to Slack was last up (the client
    reconnects by itself; one that cannot for long is what ``supportbot health`` must
    see). Until cancelled."""
    since = heartbeat.since
    reached: list[datetime] = []
    heartbeat.contact = lambda: reached[-1] if reached else since
    while True:
        if await handler.client.is_connected():
            reached[:] = [heartbeat.now()]
        await asyncio.sleep(CONNECTION_CHECK)


def _quiet_libraries() -> None:
    """slack_sdk and bolt log request bodies (customers' words) at DEBUG: never below INFO."""
    for name in ("slack_sdk", "slack_bolt", loggers.channels.getChild("bolt").name):
        logger = logging.getLogger(name)
        logger.setLevel(max(logger.getEffectiveLevel(), logging.INFO))
