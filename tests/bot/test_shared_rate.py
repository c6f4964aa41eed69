"""A rate limit shared by processes: two processes booking the same key get slots one
interval apart in total, as if they were one (Redis, or PostgreSQL)."""

from __future__ import annotations

import asyncio
import os
import sys
import time

import pytest

from bot.shared_rate import PostgresRate
from bot.storage.db import create_engine
from tests.conftest import REPO
from tests.databases import Database
from tests.services import redis_url_or_skip

PER_SECOND = 20.0  # one slot every 50 ms
SLOTS = 15  # per process

# One process: book SLOTS slots and print when each may be used (epoch seconds).
BOOKER = f"""
import asyncio, sys, time
from bot.shared_rate import PostgresRate, RedisRate
from bot.storage.db import create_engine

async def main(kind, url, key):
    rate = RedisRate(url) if kind == "redis" else PostgresRate(create_engine(url))
    start = float(sys.stdin.readline())  # both processes start booking together
    await asyncio.sleep(max(0.0, start - time.time()))
    for _ in range({SLOTS}):
        wait = await rate.reserve(key, {PER_SECOND})
        print(time.time() + wait, flush=True)
    await rate.close()
    if kind != "redis":
        await rate.engine.dispose()

asyncio.run(main(*sys.argv[1:]))
"""


async def book_from_two_processes(kind: str, url: str, key: str) -> list[float]:
    processes = [
        await asyncio.create_subprocess_exec(
            sys.executable,
            "-c",
            BOOKER,
            kind,
            url,
            key,
            cwd=REPO,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
        )
        for _ in range(2)
    ]
    start = f"{time.time() + 3.0}\n"  # time for both to import and connect
    outputs = await asyncio.gather(*(p.communicate(start.encode()) for p in processes))
    assert all(p.returncode == 0 for p in processes)
    return sorted(float(line) for out, _ in outputs for line in out.decode().split())


def assert_paced(slots: list[float]) -> None:
    assert len(slots) == 2 * SLOTS
    # 30 slots at 20 a second span 29 intervals (1.45 s) when the two processes share the
    # budget; each alone would book its 15 at the same moments as the other (0.7 s).
    assert slots[-1] - slots[0] > 1.2, slots


async def test_two_processes_share_one_budget_through_redis() -> None:
    redis_url = await redis_url_or_skip()
    key = f"test-{os.getpid()}"
    assert_paced(await book_from_two_processes("redis", redis_url, key))


@pytest.mark.only_on("postgresql", "the PostgreSQL store is for PostgreSQL deployments")
async def test_two_processes_share_one_budget_through_postgres(database: Database) -> None:
    assert_paced(await book_from_two_processes("postgres", database.url, "telegram:overall"))


async def test_a_burst_is_allowed_then_the_pace_holds(database: Database) -> None:
    if database.is_sqlite:
        with pytest.raises(Exception, match="needs PostgreSQL or Redis"):
            PostgresRate(create_engine(database.url))
        return
    engine = create_engine(database.url)
    try:
        waits = [await PostgresRate(engine).reserve("chat:1", 1.0, burst=3) for _ in range(5)]
    finally:
        await engine.dispose()
    assert waits[:3] == [0.0, 0.0, 0.0]
    assert 0.9 < waits[3] < 1.1 and 1.9 < waits[4] < 2.1
