"""The platform libraries' own dispatch, with handlers that do nothing (for
``benchmarks.machine_facts``): the floor under every webhook the bot answers.

Nothing here touches the network: aiogram's handler makes no Bot API call, and bolt's
authorisation is answered in memory, as a single-workspace app knows its own ids.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Sequence
from typing import Any

UPDATES = 1_000  # distinct updates and events, reused round-robin


def _updates() -> list[dict[str, Any]]:
    return [
        {
            "update_id": 10_000 + n,
            "message": {
                "message_id": n + 1,
                "date": 1_700_000_000 + n,
                "chat": {"id": 1_000 + n, "type": "private", "first_name": "Anna"},
                "from": {"id": 1_000 + n, "is_bot": False, "first_name": "Anna"},
                "text": "where is my order",
            },
        }
        for n in range(UPDATES)
    ]


async def aiogram_feed(seconds: float, *, raw: bool) -> float:
    """Updates/s through ``Dispatcher.feed_update`` (or ``feed_raw_update``)."""
    from aiogram import Bot, Dispatcher, Router
    from aiogram.types import Message, Update

    router = Router()
    handled = 0

    @router.message()
    async def noop(message: Message) -> None:
        nonlocal handled
        handled += 1

    dispatcher = Dispatcher()
    dispatcher.include_router(router)
    bot = Bot("123456:" + "A" * 35)
    raw_updates = _updates()
    updates = [Update.model_validate(u, context={"bot": bot}) for u in raw_updates]
    done = 0
    started = time.perf_counter()
    try:
        while time.perf_counter() - started < seconds:
            for n in range(100):
                if raw:
                    await dispatcher.feed_raw_update(bot, raw_updates[(done + n) % UPDATES])
                else:
                    await dispatcher.feed_update(bot, updates[(done + n) % UPDATES])
            done += 100
        rate = done / (time.perf_counter() - started)
    finally:
        await bot.session.close()
    if handled != done:
        msg = f"aiogram handled {handled} of {done} updates"
        raise RuntimeError(msg)
    return rate


async def bolt_dispatch(seconds: float) -> float:
    """Signed events/s through ``AsyncApp.async_dispatch`` to a no-op listener."""
    from slack_bolt.async_app import AsyncApp
    from slack_bolt.authorization import AuthorizeResult
    from slack_bolt.request.async_request import AsyncBoltRequest

    secret = "machine-facts-signing-secret"

    async def authorize(**_: Any) -> AuthorizeResult:
        return AuthorizeResult(
            enterprise_id=None, team_id="T1", bot_user_id="UBOT", bot_id="B1", bot_token="xoxb-1"
        )

    app = AsyncApp(signing_secret=secret, authorize=authorize, process_before_response=True)
    handled = 0

    @app.event("message")
    async def noop() -> None:
        nonlocal handled
        handled += 1

    bodies = [
        json.dumps(
            {
                "type": "event_callback",
                "team_id": "T1",
                "api_app_id": "A1",
                "event_id": f"Ev{n}",
                "event_time": 1_700_000_000 + n,
                "event": {
                    "type": "message",
                    "channel": f"D{n}",
                    "channel_type": "im",
                    "user": f"U{n}",
                    "text": "where is my order",
                    "ts": f"1700000000.{n:06d}",
                },
            }
        )
        for n in range(UPDATES)
    ]
    done, failed = 0, 0
    started = time.perf_counter()
    while time.perf_counter() - started < seconds:
        stamp = str(int(time.time()))
        for n in range(100):
            body = bodies[(done + n) % UPDATES]
            digest = hmac.new(secret.encode(), f"v0:{stamp}:{body}".encode(), hashlib.sha256)
            headers: dict[str, str | Sequence[str]] = {
                "content-type": "application/json",
                "x-slack-request-timestamp": stamp,
                "x-slack-signature": f"v0={digest.hexdigest()}",
            }
            response = await app.async_dispatch(AsyncBoltRequest(body=body, headers=headers))
            failed += response.status != 200
        done += 100
    if failed or handled != done:
        msg = f"bolt answered {failed} of {done} signed events with an error, handled {handled}"
        raise RuntimeError(msg)
    return done / (time.perf_counter() - started)
