"""What one Bot API call costs the bot's process, in CPU time.

Every customer message on the Telegram path costs about 2.6 Bot API calls (the reply,
a removed keyboard, the desk's topics and cards), so the cost of a call is a large part
of the Telegram channel's speed. This sends ``sendMessage`` with a two-button keyboard
to a minimal Bot API server in another process, ``--concurrency`` calls at a time,
four ways, and prints the CPU time of this process per call:

- aiogram's own ``AiohttpSession`` (a form per call, response models rebuilt when the
  garbage collector took them);
- the bot's session (``bot.channels.telegram.session.BotApiSession``) made to send forms
  as aiogram does: what keeping the response models saves;
- the bot's session as it is (JSON): what JSON saves beside that;
- aiohttp alone, posting the same JSON and decoding the answer (no aiogram: a floor).

    .venv/bin/python -m benchmarks.telegram_calls [--calls 4000] [--rounds 2]

Prints figures; asserts nothing. The rounds alternate the four ways, since this kind
of machine's speed drifts by 10-20% within minutes.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import socket
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.methods import TelegramMethod
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup
from aiohttp import web

from bot.channels.telegram.session import BotApiSession

TOKEN = "4242:BENCH-token"
TEXT = "Here is what I found: you can track your order from the link in its email."
KEYBOARD = InlineKeyboardMarkup(inline_keyboard=[[
    InlineKeyboardButton(text="Yes", callback_data="y:1:sig"),
    InlineKeyboardButton(text="No", callback_data="n:1:sig"),
]])  # fmt: skip
ANSWER = json.dumps({"ok": True, "result": {
    "message_id": 1, "date": 1_700_000_000, "text": TEXT,
    "chat": {"id": 7123, "type": "private", "first_name": "Anna"},
    "from": {"id": 4242, "is_bot": True, "first_name": "Acme Support"},
    "reply_markup": KEYBOARD.model_dump(exclude_none=True),
}}).encode()  # fmt: skip


class FormSession(BotApiSession):
    """The bot's session sending forms, as aiogram's does."""

    def json_body(self, bot: Bot, method: TelegramMethod[Any]) -> bytes | None:
        return None


def serve(port: int) -> None:
    """The server side (run in its own process): answers every call with a Message."""

    async def answer(request: web.Request) -> web.Response:
        await request.read()
        return web.Response(body=ANSWER, content_type="application/json")

    app = web.Application()
    app.router.add_post("/bot{token}/{method}", answer)
    web.run_app(app, host="127.0.0.1", port=port, print=None, access_log=None)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def cpu_per_call(
    call: Callable[[], Awaitable[object]], calls: int, concurrency: int
) -> float:
    """Microseconds of this process's CPU per call, after a warm-up."""
    gate = asyncio.Semaphore(concurrency)

    async def one() -> None:
        async with gate:
            await call()

    await asyncio.gather(*(one() for _ in range(200)))
    started = time.process_time()
    await asyncio.gather(*(one() for _ in range(calls)))
    return (time.process_time() - started) / calls * 1e6


async def measure(port: int, calls: int, concurrency: int) -> dict[str, float]:
    api = TelegramAPIServer.from_base(f"http://127.0.0.1:{port}")
    stock = Bot(TOKEN, session=AiohttpSession(api=api))
    forms = Bot(TOKEN, session=FormSession(api=api))
    ours = Bot(TOKEN, session=BotApiSession(api=api))
    url = f"http://127.0.0.1:{port}/bot{TOKEN}/sendMessage"
    markup = KEYBOARD.model_dump(exclude_none=True)
    body = json.dumps({"chat_id": 7123, "text": TEXT, "reply_markup": markup}).encode()
    headers = {"Content-Type": "application/json"}
    async with aiohttp.ClientSession() as plain:

        async def bare() -> object:
            async with plain.post(url, data=body, headers=headers) as response:
                return json.loads(await response.text())

        ways: dict[str, Callable[[], Awaitable[object]]] = {
            "aiogram's AiohttpSession (form)": lambda: stock.send_message(
                7123, TEXT, reply_markup=KEYBOARD),
            "BotApiSession sending forms": lambda: forms.send_message(
                7123, TEXT, reply_markup=KEYBOARD),
            "BotApiSession (JSON)": lambda: ours.send_message(7123, TEXT, reply_markup=KEYBOARD),
            "aiohttp alone (floor)": bare,
        }  # fmt: skip
        try:
            return {name: await cpu_per_call(way, calls, concurrency) for name, way in ways.items()}
        finally:
            for bot in (stock, forms, ours):
                await bot.session.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=4000)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--concurrency", type=int, default=20)
    parser.add_argument("--serve", type=int, help=argparse.SUPPRESS)  # the server process
    args = parser.parse_args()
    if args.serve:
        serve(args.serve)
        return
    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "benchmarks.telegram_calls",
                               "--serve", str(port)])  # fmt: skip
    try:
        for _ in range(100):  # until it listens
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", port)) == 0:
                    break
            time.sleep(0.05)
        print(f"sendMessage with a keyboard, {args.calls} calls, {args.concurrency} at a time:")
        for round_ in range(1, args.rounds + 1):
            figures = asyncio.run(measure(port, args.calls, args.concurrency))
            for name, micros in figures.items():
                print(f"  round {round_}: {name:34} {micros:6.0f} µs CPU per call")
    finally:
        server.terminate()
        server.wait()


if __name__ == "__main__":
    main()
