"""``supportbot worker`` and ``supportbot serve``; registered by ``bot.cli``.

``serve --channel telegram --workers 2`` is a small supervisor: it runs the channel's
receiving process and N worker processes against the same PostgreSQL database, all with
``processing = "workers"``, and starts again any that exits or is killed. More workers
can run on other machines with ``supportbot worker`` and the same settings.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
from typing import Annotated

import typer

from bot import loggers

RESTART_DELAY = 1.0  # seconds before a process that died is started again ...
MAX_RESTART_DELAY = 30.0  # ... doubled while it keeps dying, up to this
STEADY = 60.0  # seconds of running after which a death is not part of a crash loop
CONFIG_ERROR = 2  # the CLI's status for settings that cannot run


def worker(ctx: typer.Context) -> None:
    """Process customers' messages from the inbox (PostgreSQL; see docs/performance.md)."""
    from bot.app import running_app, utc_now
    from bot.cli import run, settings_from
    from bot.health import Heartbeat
    from bot.health_http import health_server
    from bot.metrics import Figures
    from bot.runner import background
    from bot.worker import Worker

    settings = settings_from(ctx).model_copy(update={"processing": "workers"})

    async def go() -> None:
        async with running_app(settings) as app:
            work = Worker(app.engine)
            heartbeat = Heartbeat(app.repo, "worker", utc_now,
                                  every=settings.health.heartbeat_seconds)  # fmt: skip
            await heartbeat.start()
            # timers (follow-ups, SLA clocks) are database rows: any process may fire them
            besides = [asyncio.create_task(background(app.engine)),
                       asyncio.create_task(heartbeat.run())]  # fmt: skip
            stats = work.stats
            figures = Figures(heartbeat, None, {}, counters={
                "supportbot_worker_passes": ("Transactions this worker ran.",
                                             lambda: float(stats.passes)),
                "supportbot_worker_messages": ("Messages this worker processed.",
                                               lambda: float(stats.messages)),
            })  # fmt: skip
            try:
                async with health_server(settings.health, "worker", figures):
                    await work.run()
            finally:
                for task in besides:
                    task.cancel()
                await asyncio.gather(*besides, return_exceptions=True)

    with contextlib.suppress(KeyboardInterrupt):
        run(go())


def serve(
    ctx: typer.Context,
    channel: Annotated[str, typer.Option(help="telegram or slack: the receiving process.")],
    workers: Annotated[int, typer.Option(min=1, max=64, help="Worker processes here.")] = 2,
) -> None:
    """Run the receiving process for a channel and N workers, restarting any that dies."""
    from bot.cli import settings_from

    if channel not in {"telegram", "slack"}:
        typer.echo("supportbot: --channel must be telegram or slack", err=True)
        raise typer.Exit(2)
    config = ctx.obj.get("config") if ctx.obj else None
    base = [sys.executable, "-m", "bot.cli"] + (["--config", str(config)] if config else [])
    commands = [[*base, "run", channel]] + [[*base, "worker"] for _ in range(workers)]
    env = {**os.environ, "SUPPORTBOT_PROCESSING": "workers"}
    port = settings_from(ctx).health.port  # each process its own /healthz and /metrics
    envs = [{**env, "SUPPORTBOT_HEALTH__PORT": str(port + n)} if port else env
            for n in range(len(commands))]  # fmt: skip
    code = asyncio.run(supervise(commands, envs))
    if code:
        raise typer.Exit(code)


async def supervise(commands: list[list[str]], envs: list[dict[str, str]]) -> int:
    """Keep every command running (each with its environment) until SIGTERM or Ctrl-C,
    then stop them all (SIGTERM, and wait). A process that dies is started again after
    ``RESTART_DELAY``, doubled while it keeps dying young (up to ``MAX_RESTART_DELAY``),
    so a crash loop is no hot loop. One that refuses its settings (status 2) would only
    refuse them again: everything stops and this returns 2 (0 after a signal)."""
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(signum, stop.set)
    running: dict[int, asyncio.subprocess.Process] = {}
    refused: list[str] = []

    async def keep(n: int, command: list[str]) -> None:
        delay = RESTART_DELAY
        while True:
            started = loop.time()
            process = await asyncio.create_subprocess_exec(*command, env=envs[n])
            running[n] = process
            code = await process.wait()
            if code == CONFIG_ERROR:
                loggers.engine.error("%s refused its settings; stopping everything", command[-1])
                refused.append(command[-1])
                stop.set()
                return
            if loop.time() - started >= STEADY:
                delay = RESTART_DELAY  # it had been running: not a crash loop
            loggers.engine.warning("%s exited (%s); starting it again in %.0f s",
                                   command[-1], code, delay)  # fmt: skip
            await asyncio.sleep(delay)
            delay = min(2 * delay, MAX_RESTART_DELAY)

    tasks = [asyncio.create_task(keep(n, c)) for n, c in enumerate(commands)]
    try:
        await stop.wait()
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        for process in running.values():
            if process.returncode is None:
                process.send_signal(signal.SIGTERM)
        for process in running.values():
            with contextlib.suppress(ProcessLookupError):
                await process.wait()
    return CONFIG_ERROR if refused else 0
