"""``supportbot bench``: the command line of the bench (registered by ``bot.cli``).

Importing this module costs nothing beyond typer: the bench itself, and for the platform
channels aiogram or slack-bolt, are imported when the command runs. Exit status: 0 when
every reply arrived once and in order, 1 when some were lost, repeated or reordered (the
table says which), 2 for options that cannot run.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

DEFAULT_CONVERSATIONS = 30
DEFAULT_MESSAGES = 8


def bench(
    ctx: typer.Context,
    channel: Annotated[
        str, typer.Option(help="local (in-process), telegram or slack (webhook + fake API).")
    ] = "local",
    conversations: Annotated[
        int, typer.Option(min=1, help="Concurrent customers.")
    ] = DEFAULT_CONVERSATIONS,
    messages: Annotated[int, typer.Option(min=1, help="Messages per customer.")] = DEFAULT_MESSAGES,
    rate: Annotated[
        float | None,
        typer.Option(
            help="Messages/s to offer overall (default: each customer writes again "
            "as soon as answered)."
        ),
    ] = None,
    database_url: Annotated[
        str | None,
        typer.Option(
            help="Default: a temporary SQLite file. A PostgreSQL URL is upgraded "
            "first; use a scratch database."
        ),
    ] = None,
    kb: Annotated[Path | None, typer.Option(help="Article folder (default: settings).")] = None,
    workers: Annotated[
        int,
        typer.Option(
            min=0,
            help="0: one process. N: a receiving process and N `supportbot worker` "
            "processes (PostgreSQL).",
        ),
    ] = 0,
    kill_worker: Annotated[
        bool, typer.Option(help="SIGKILL one worker halfway through and start it again.")
    ] = False,
    seed: Annotated[int, typer.Option(help="Seed of the customers' scripts.")] = 7,
    profile: Annotated[
        Path | None,
        typer.Option(
            help="Write a cProfile of the bot's process while the customers write "
            "(read it with: python -m pstats FILE)."
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """Drive simulated customers and an agent through the real stack; print speed,
    latency, memory, and whether every reply arrived once and in order."""
    from bot.bench.options import BenchOptions
    from bot.bench.results import render_json, render_table
    from bot.bench.run import run_bench
    from bot.cli import run, settings_from

    options = BenchOptions(channel=channel, conversations=conversations,  # type: ignore[arg-type]
                           messages=messages, rate=rate, workers=workers, seed=seed,
                           kill_worker=kill_worker, profile=profile)  # fmt: skip
    settings = settings_from(ctx)
    config = ctx.obj.get("config") if ctx.obj else None
    result = run(run_bench(settings, options, database_url=database_url, kb=kb, config=config))
    if as_json:
        typer.echo(render_json(result))
    else:
        render_table(result)
    if not result.correct:
        raise typer.Exit(1)
