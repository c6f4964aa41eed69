"""The ``supportbot run telegram`` process: logging hygiene, signals, polling or webhook.

The token is part of every Bot API URL, so any library error that quotes a URL could put
it in a log line; a filter on the log handlers replaces it before anything is written.
SIGTERM and Ctrl-C stop receiving first, then give the outbox a few seconds to send what
is pending (anything left is sent by the next start).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from typing import Literal

from bot import loggers
from bot.channels.telegram.runtime import Runtime, telegram_runtime
from bot.channels.telegram.settings import TelegramSettings
from bot.channels.telegram.translate import CHANNEL
from bot.channels.telegram.webhook import webhook_server
from bot.health_http import health_server
from bot.settings import Settings

DRAIN_SECONDS = 5.0


class RedactSecrets(logging.Filter):
    """Replaces the given secrets in a record's message and traceback text."""

    def __init__(self, *secrets: str) -> None:
        super().__init__()
        self.secrets = [s for s in secrets if s]

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = self._clean(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self._clean(record.exc_text)
        return True

    def _clean(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, "[redacted]")
        return text


def install_redaction(*secrets: str) -> RedactSecrets:
    """On every handler of the root logger (where all records end up)."""
    redact = RedactSecrets(*secrets)
    for handler in logging.getLogger().handlers:
        handler.addFilter(redact)
    return redact


async def serve(
    settings: Settings, telegram: TelegramSettings, mode: Literal["polling", "webhook"]
) -> None:
    telegram.check_for(settings.desk, mode)
    install_redaction(telegram.token, telegram.token.partition(":")[2])
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(signum, stop.set)
    # A webhook's own server answers /healthz and /metrics; a poller listens on health.port.
    health = settings.health
    if mode == "webhook":
        health = health.model_copy(update={"port": 0})
    async with (
        telegram_runtime(settings, telegram) as runtime,
        health_server(health, CHANNEL, runtime.figures()),
    ):
        work = asyncio.create_task(
            runtime.run_polling() if mode == "polling" else run_webhook(runtime)
        )
        stopping = asyncio.create_task(stop.wait())
        await asyncio.wait({work, stopping}, return_when=asyncio.FIRST_COMPLETED)
        stopping.cancel()
        if work.done():
            work.result()  # a fatal error (bad token, a second poller): surface it
            return
        loggers.channels.info("telegram: stopping")
        work.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await work
        await drain(runtime)


async def run_webhook(runtime: Runtime) -> None:
    await runtime.check_token()
    async with webhook_server(runtime):
        await runtime.run_besides()


async def drain(runtime: Runtime, seconds: float = DRAIN_SECONDS) -> None:
    deliver = asyncio.create_task(runtime.delivery.run())
    runtime.delivery.kick()
    try:
        await asyncio.wait_for(runtime.delivery.wait_idle(), seconds)
    except TimeoutError:
        loggers.channels.info("telegram: some messages are still pending; sent on next start")
    finally:
        deliver.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await deliver
