"""One bench run: options checked, settings and database prepared, the channel's driver
run under a progress bar, the result returned.

The progress bar goes to standard error, so ``--json`` output on standard output stays
machine-readable. Platform stacks are imported only when asked for: a local run never
loads aiogram or slack-bolt, which would distort its memory figure.

With ``--workers N`` this process is the receiving side and N ``supportbot worker``
processes run the dialogue (``bot.bench.workers``); PostgreSQL only.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Callable
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from bot.bench.options import (
    BenchOptions,
    alone_on,
    bench_settings,
    prepare_database,
    run_tag,
    scratch_database,
)
from bot.bench.results import BenchResult
from bot.bench.workers import WorkerPool
from bot.errors import ConfigError
from bot.settings import Settings
from bot.storage.db import is_sqlite


async def run_bench(
    settings: Settings, options: BenchOptions, *, database_url: str | None = None,
    kb: Path | None = None, config: Path | None = None,
) -> BenchResult:  # fmt: skip
    options.check()
    if options.workers and (database_url is None or is_sqlite(database_url)):
        raise ConfigError("--workers needs --database-url postgresql+asyncpg://… "
                          "(separate workers share PostgreSQL; SQLite has one writer)")  # fmt: skip
    with scratch_database(database_url) as url:
        settings = bench_settings(settings, url, kb, desk=options.channel)
        await prepare_database(settings)
        async with alone_on(settings):
            if not options.workers:
                return await _with_progress(settings, options, None)
            settings = settings.model_copy(update={"processing": "workers"})
            pool = WorkerPool(settings, options.workers, config)
            await pool.start()
            try:
                result = await _with_progress(settings, options, pool)
            finally:
                await pool.stop()
        peak, cpu = pool.usage()
        busy = round(100 * cpu / result.seconds, 1) if result.seconds > 0 else 0.0
        return dataclasses.replace(result, peak_rss_mb_workers=peak, cpu_percent_workers=busy,
                                   workers_killed=pool.kills)  # fmt: skip


async def _with_progress(
    settings: Settings, options: BenchOptions, pool: WorkerPool | None
) -> BenchResult:
    tag = run_tag()
    total = options.conversations * options.messages
    with Progress(
        TextColumn(f"[bold]{options.channel}[/]"), BarColumn(), MofNCompleteColumn(),
        TextColumn("messages"), TimeElapsedColumn(),
        console=Console(stderr=True), transient=True, disable=not options.progress,
    ) as bar:  # fmt: skip
        task = bar.add_task("messages", total=total)

        kills: list[asyncio.Task[None]] = []

        def progress(done: int) -> None:
            bar.update(task, completed=done)
            if pool is not None and options.kill_worker and not kills and done >= total // 2:
                kills.append(asyncio.create_task(pool.kill_one()))

        result = await _drive(settings, options, tag, progress)
        await asyncio.gather(*kills)
        return result


async def _drive(
    settings: Settings, options: BenchOptions, tag: int, progress: Callable[[int], None]
) -> BenchResult:
    if options.channel == "local":
        from bot.bench.local import run_local

        return await run_local(settings, options, tag, progress)
    from bot.bench.remote import run_remote

    if options.channel == "telegram":
        from bot.bench.fake.telegram import chat_prefix as telegram_prefix
        from bot.bench.telegram import telegram_stack

        return await run_remote(settings, options, tag, progress, factory=telegram_stack,
                                prefix=telegram_prefix(tag))  # fmt: skip
    from bot.bench.fake.slack import chat_prefix as slack_prefix
    from bot.bench.slack import slack_stack

    return await run_remote(settings, options, tag, progress, factory=slack_stack,
                            prefix=slack_prefix(tag))  # fmt: skip
