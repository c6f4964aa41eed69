"""Receiving updates by webhook: Telegram POSTs each update to our HTTPS endpoint.

The secret token is mandatory (settings refuse webhook mode without it) and compared in
constant time; a request without it gets 401 and is not looked at. The update is
processed before we answer: 200 means it is committed, and a failure the bot may
recover from answers 500, so Telegram sends the update again (a repeat is recognised
and not applied twice). With ``max_connections = 1`` (the default) Telegram sends one
update at a time, which keeps each chat in order; with more, updates of one chat are
still never processed at the same time. A tap on a button (a customer's, or an agent's
on a case card) is answered in the webhook's response (``{"method":
"answerCallbackQuery", ...}``, which Telegram performs), rather than by a Bot API call of
its own; Telegram ignores that call's result, and so would we.
"""

from __future__ import annotations

import hmac
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from aiogram import types
from aiogram.methods import AnswerCallbackQuery
from aiohttp import web
from pydantic import ValidationError

from bot import loggers
from bot.channels.telegram.incoming import ALLOWED_UPDATES
from bot.channels.telegram.runtime import Runtime
from bot.channels.telegram.translate import CHANNEL
from bot.health_http import observe
from bot.listening import listen

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
MAX_BODY = 1024 * 1024  # an update is a few KB; anything near this is not from Telegram
ATTEMPTS = 3  # transient failures tolerated before answering 500


def webhook_app(runtime: Runtime, secret: str, path: str) -> web.Application:
    expected = secret.encode()

    async def receive(request: web.Request) -> web.StreamResponse:
        given = request.headers.get(SECRET_HEADER, "").encode()
        if not hmac.compare_digest(given, expected):
            loggers.channels.warning("telegram webhook: request without the secret refused")
            return web.Response(status=401)
        try:
            update = types.Update.model_validate(await request.json(),
                                                 context={"bot": runtime.bot})  # fmt: skip
        except (ValueError, ValidationError, RecursionError):  # not JSON, not an update,
            loggers.channels.warning("telegram webhook: malformed update refused")  # too deep
            return web.Response(status=400)
        inline: list[AnswerCallbackQuery] = []
        if not await runtime.inbound.process(update, attempts=ATTEMPTS, inline=inline):
            return web.Response(status=500)  # Telegram will send it again
        if inline:  # Telegram makes this call for us: a tap's answer, one request fewer
            answer = inline[0].model_dump(mode="json", exclude_none=True)
            return web.json_response({"method": inline[0].__api_method__, **answer})
        return web.json_response({})

    app = web.Application(client_max_size=MAX_BODY)
    app.router.add_post(path, receive)
    observe(app, CHANNEL, runtime.figures())
    return app


@asynccontextmanager
async def webhook_server(runtime: Runtime) -> AsyncIterator[list[str]]:
    """Listen, then register the webhook with Telegram; yields the bound addresses."""
    settings = runtime.telegram
    assert settings.webhook_secret is not None and settings.webhook_url is not None
    secret = settings.webhook_secret.get_secret_value()
    runner = web.AppRunner(webhook_app(runtime, secret, settings.webhook_path), access_log=None)
    await runner.setup()
    try:
        await listen(runner, settings.webhook_host, settings.webhook_port,
                     "TELEGRAM_WEBHOOK_PORT")  # fmt: skip
        await runtime.bot.set_webhook(
            settings.webhook_url, secret_token=secret, allowed_updates=ALLOWED_UPDATES,
            max_connections=settings.webhook_max_connections,
        )  # fmt: skip
        addresses = [f"http://{a[0]}:{a[1]}" for a in runner.addresses]
        loggers.channels.info("telegram webhook: listening on %s", ", ".join(addresses))
        yield addresses
    finally:
        await runner.cleanup()
