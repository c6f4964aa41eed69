"""The fake platform's process and its conversation with the bench process.

One JSON object per line; the fake writes on standard output, the bench on its standard
input (standard error is for tracebacks only):

    fake  -> {"ready": {"api_url": ...}}        the API listens on 127.0.0.1
    bench -> {"go": {webhook_url, tag, scripts, rate, ...}}   the bot listens too
    fake  -> {"progress": n}                    customer messages done so far (repeated)
    fake  -> {"finished": {"seconds": s}}       every customer done, the desk quiet
    bench -> {"calls": true}                    (any time from here on)
    fake  -> {"calls": n}                       API calls the bot made so far
    bench -> {"quiesce": true}                  (once the bot's outbox is empty)
    fake  -> {"quiet": true}                    the agent has stopped acting
    bench -> {"report": true}                   (once the outbox is empty again)
    fake  -> {"report": {...}}                  what arrived, latencies, memory

Latencies are measured here, on this process's clock, from the moment a request to the
webhook starts to the moment the bot's reply reaches this API: the platform's view.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import sys
import time
from typing import Any

import aiohttp
from aiohttp import web

from bot.bench.actors import Pace, play
from bot.bench.fake.base import FakePlatform
from bot.bench.scripts import customer_name, scripts_from_json
from bot.bench.usage import cpu_seconds, peak_rss_mb

PROGRESS_EVERY = 0.2  # seconds
LINE_LIMIT = 1 << 28  # the scripts arrive as one line


def make_platform(name: str) -> FakePlatform:
    if name == "telegram":
        from bot.bench.fake.telegram import FakeTelegram

        return FakeTelegram()
    if name == "slack":
        from bot.bench.fake.slack import FakeSlack

        return FakeSlack()
    raise SystemExit(f"unknown platform {name!r}: telegram or slack")


class Control:
    """The line-per-message channel to the bench process."""

    def __init__(self, reader: asyncio.StreamReader) -> None:
        self.reader = reader

    @classmethod
    async def open(cls) -> Control:
        reader = asyncio.StreamReader(limit=LINE_LIMIT)
        loop = asyncio.get_running_loop()
        await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
        return cls(reader)

    @staticmethod
    def emit(**message: Any) -> None:
        sys.stdout.write(json.dumps(message) + "\n")
        sys.stdout.flush()

    async def next(self) -> dict[str, Any]:
        line = await self.reader.readline()
        if not line:
            raise SystemExit("the bench process went away")
        message: dict[str, Any] = json.loads(line)
        return message

    async def expect(self, key: str) -> Any:
        message = await self.next()
        if key not in message:
            raise SystemExit(f"expected {key!r} from the bench process, got {sorted(message)}")
        return message[key]


async def serve(name: str) -> None:
    platform = make_platform(name)
    app = web.Application(client_max_size=1 << 22)
    platform.routes(app)
    runner = web.AppRunner(app, access_log=None, handle_signals=False)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    host, port = runner.addresses[0][:2]
    control = await Control.open()
    control.emit(ready={"api_url": platform.api_url(f"http://{host}:{port}")})
    try:
        go = await control.expect("go")
        connector = aiohttp.TCPConnector(limit=0)
        async with aiohttp.ClientSession(connector=connector) as session:
            await drive(platform, control, go, session)
    finally:
        await runner.cleanup()


async def drive(
    platform: FakePlatform, control: Control, go: dict[str, Any], session: aiohttp.ClientSession
) -> None:
    scripts = scripts_from_json(go["scripts"])
    rate = float(go["rate"]) if go.get("rate") else None
    pace = Pace(gap=len(scripts) / rate if rate else 0.0)
    platform.start(go, session, pace)
    done = 0

    def step_done() -> None:
        nonlocal done
        done += 1

    async def report_progress() -> None:
        reported = -1
        while True:
            if done != reported:
                reported = done
                control.emit(progress=done)
            await asyncio.sleep(PROGRESS_EVERY)

    progress = asyncio.create_task(report_progress())
    started, cpu = time.monotonic(), cpu_seconds()
    customers = []
    for index, script in enumerate(scripts):
        log, line = platform.customer(index, customer_name(index))
        start_at = started + index / rate if rate else started
        customers.append(play(log, line, script, pace, platform.counters, start_at=start_at,
                              done=step_done))  # fmt: skip
    try:
        await asyncio.gather(*customers)
        seconds, cpu = time.monotonic() - started, cpu_seconds() - cpu
        await platform.desk_quiet()
    finally:
        progress.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await progress
    control.emit(progress=done)
    control.emit(finished={"seconds": seconds})
    while "report" not in (command := await control.next()):
        if "calls" in command:
            control.emit(calls=platform.api_calls)
        elif "quiesce" in command:
            await platform.agents.close()
            control.emit(quiet=True)
    control.emit(report={**platform.report(), "seconds": seconds, "cpu_seconds": cpu,
                         "peak_rss_mb": peak_rss_mb()})  # fmt: skip


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        raise SystemExit("usage: python -m bot.bench.fake telegram|slack")
    asyncio.run(serve(args[0]))
