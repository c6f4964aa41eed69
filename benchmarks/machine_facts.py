"""How fast is this machine, next to the one issue 10's figures were measured on?

Issue 10 ("Speed and scale-out") gives its throughput targets with a table of facts
measured on "a machine like yours (2 cores)". Machines of that kind differ by two to
three times from one day to the next (docs/performance.md), so a bench figure says
little on its own. This script measures the rows of that table that need nothing but
this repository's dependencies and prints each beside the issue's figure: their ratio
is the day's machine speed, to read the bench's figures with.

* aiogram ``Dispatcher.feed_update`` and ``feed_raw_update`` with a no-op handler;
* slack-bolt ``AsyncApp.async_dispatch`` of a signed event to a no-op listener;
* the minimum durable work per inbound message (dedupe the update id, load the
  conversation, store the message and the reply, update the state, queue the reply,
  commit, mark it sent) in raw ``sqlite3`` and in SQLAlchemy Core on aiosqlite, one
  transaction per message and many per transaction, on a SQLite file in WAL mode
  with ``synchronous=FULL`` (the bot's setting);
* the same in raw asyncpg over 16 connections, when ``--database-url`` (or
  ``$SUPPORTBOT_TEST_DATABASE_URL``) names a PostgreSQL server;
* and one row the issue does not have: Python following a chain of list items in
  random order through 10,000 and 1,000,000 objects (dependent loads, as the
  knowledge base's and SQLAlchemy's dicts are read), because a machine whose memory
  is slow (a busy neighbour on the host's cache) runs the bot far slower than the
  small rows above suggest: on 2026-11-29 they matched the issue's figures while
  ``supportbot bench`` ran at a third of an earlier day's rate.

    .venv/bin/python -m benchmarks.machine_facts [--seconds 2] [--json]

Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import json
import os
import random
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

from benchmarks import durable_work
from benchmarks.platform_dispatch import aiogram_feed, bolt_dispatch

# The issue's figures (operations per second), by row.
ISSUE = {
    "aiogram feed_update, no-op handler": 3_900,
    "slack-bolt async_dispatch, signed, no-op": 5_200,
    "sqlite3, 1 message per transaction": 2_600,
    "sqlite3, 50 messages per transaction": 20_000,
    "SQLAlchemy Core + aiosqlite, 1 per transaction": 220,
    "SQLAlchemy Core + aiosqlite, 100 per transaction": 3_800,
    "asyncpg, 16 connections, 1 per transaction": 1_100,
}

Measure = Callable[[float], Awaitable[float]]


async def chase(seconds: float, *, size: int) -> float:
    """Steps/s of ``at = following[at]`` over ``size`` list items in one random cycle."""
    order = list(range(size))
    random.Random(size).shuffle(order)
    following = [0] * size
    for here, there in zip(order, order[1:] + order[:1], strict=True):
        following[here] = there
    at, steps = order[0], 0
    started = time.perf_counter()
    while time.perf_counter() - started < seconds:
        for _ in range(100_000):
            at = following[at]
        steps += 100_000
    return steps / (time.perf_counter() - started)


def rows(folder: Path, database_url: str | None) -> list[tuple[str, Measure]]:
    """Each row's name and how to measure it (operations/s over about ``seconds``)."""
    found: list[tuple[str, Measure]] = [
        ("aiogram feed_update, no-op handler", lambda s: aiogram_feed(s, raw=False)),
        (
            "aiogram feed_raw_update (validates the JSON), no-op",
            lambda s: aiogram_feed(s, raw=True),
        ),
        ("slack-bolt async_dispatch, signed, no-op", bolt_dispatch),
        ("sqlite3, 1 message per transaction", lambda s: durable_work.sqlite3_rate(folder, s, 1)),
        (
            "sqlite3, 50 messages per transaction",
            lambda s: durable_work.sqlite3_rate(folder, s, 50),
        ),
        (
            "SQLAlchemy Core + aiosqlite, 1 per transaction",
            lambda s: durable_work.core_rate(folder, s, 1),
        ),
        (
            "SQLAlchemy Core + aiosqlite, 100 per transaction",
            lambda s: durable_work.core_rate(folder, s, 100),
        ),
    ]
    found += [
        (f"memory: steps through {size:,} list items", functools.partial(chase, size=size))
        for size in (10_000, 1_000_000)
    ]
    if database_url:
        found.append(
            (
                "asyncpg, 16 connections, 1 per transaction",
                lambda s: durable_work.asyncpg_rate(database_url, s, 16),
            )
        )
    return found


async def measure(seconds: float, database_url: str | None) -> list[dict[str, object]]:
    results: list[dict[str, object]] = []
    with tempfile.TemporaryDirectory(prefix="machine-facts-") as folder:
        for name, run in rows(Path(folder), database_url):
            rate = await run(seconds)
            reference = ISSUE.get(name)
            results.append(
                {
                    "row": name,
                    "per_second": round(rate, 1),
                    "issue": reference,
                    "ratio": round(rate / reference, 2) if reference else None,
                }
            )
    return results


def table(results: list[dict[str, object]]) -> str:
    lines = [
        "| row | per second here | the issue's | here / issue |",
        "|---|---|---|---|",
    ]
    for r in results:
        issue = f"{r['issue']:,}" if r["issue"] else "-"
        ratio = f"{r['ratio']:.2f}" if r["ratio"] is not None else "-"
        lines.append(f"| {r['row']} | {r['per_second']:,.0f} | {issue} | {ratio} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=2.0, help="per row (default 2)")
    parser.add_argument("--database-url", default=os.environ.get("SUPPORTBOT_TEST_DATABASE_URL"))
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    started = time.perf_counter()
    results = asyncio.run(measure(args.seconds, args.database_url))
    if args.json:
        print(json.dumps(results))
        return
    print(table(results))
    ratios = [float(r["ratio"]) for r in results if isinstance(r["ratio"], float)]
    if ratios:
        ratios.sort()
        print(f"\nmedian here / issue: {ratios[len(ratios) // 2]:.2f} "
              f"({len(ratios)} rows, {time.perf_counter() - started:.0f} s)")  # fmt: skip


if __name__ == "__main__":
    main()
